"""Entry point of the ``hub`` command; each area adds its sub-commands here."""

import typer

from services.hub import demo_commands, services_commands, timeline_commands
from services.hub.audit_commands import audit_app
from services.hub.bench_commands import bench
from services.hub.deadletters_commands import deadletters_app
from services.hub.directory_commands import directory_app
from services.hub.erase_commands import erase
from services.hub.infra_commands import infra_app
from services.hub.intelligence_commands import intelligence_app
from services.hub.kafka_commands import KAFKA_CONTEXT, kafka
from services.hub.keys_commands import keys_app
from services.hub.referrals_commands import referrals_app
from services.hub.retention_commands import retention_app
from services.hub.token_commands import token

app = typer.Typer(
    no_args_is_help=True,
    help="Operate referral-hub: local infrastructure, services and data.",
    pretty_exceptions_show_locals=False,  # locals may hold DSNs with passwords
)
app.command("up")(services_commands.up)
app.command("down")(services_commands.down)
app.command("stop")(services_commands.stop)
app.command("status")(services_commands.status)
app.command("demo")(demo_commands.demo)
app.command("token")(token)
app.command("bench")(bench)
app.command("erase")(erase)
app.add_typer(infra_app, name="infra")
app.command("kafka", context_settings=KAFKA_CONTEXT)(kafka)
referrals_app.command("show")(timeline_commands.show)
app.add_typer(referrals_app, name="referrals")
app.add_typer(intelligence_app, name="intelligence")
app.add_typer(directory_app, name="directory")
app.add_typer(audit_app, name="audit")
app.add_typer(deadletters_app, name="deadletters")
app.add_typer(keys_app, name="keys")
app.add_typer(retention_app, name="retention")

if __name__ == "__main__":
    app()
