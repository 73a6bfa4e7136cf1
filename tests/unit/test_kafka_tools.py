"""`hub kafka TOOL`: which tool runs, and what the wrapper adds to the operator's arguments."""

from pathlib import Path

import pytest

from infra.kafka_tools import TOOLS, find_tool, tool_argv

pytestmark = pytest.mark.unit
BOOTSTRAP = "127.0.0.1:22092,127.0.0.1:22192"
LIBS = Path("/cache/libs")


def after_main_class(argv: list[str], main_class: str) -> list[str]:
    return argv[argv.index(main_class) + 1 :]


@pytest.mark.parametrize("name", ["kafka-topics", "kafka-topics.sh", "topics"])
def test_a_tool_is_found_by_its_script_name_with_or_without_prefix_and_suffix(name: str) -> None:
    assert find_tool(name) == TOOLS["kafka-topics"]


def test_a_tool_that_prints_records_is_not_offered() -> None:
    assert find_tool("kafka-console-consumer") is None


def test_the_stacks_bootstrap_list_and_the_operators_properties_come_before_their_args() -> None:
    tool = TOOLS["kafka-consumer-groups"]
    config = Path("/secrets/operator.properties")

    argv = tool_argv(tool, ["--list"], bootstrap=BOOTSTRAP, libs=LIBS, command_config=config)

    assert argv[0] == "java"
    assert f"{LIBS}/*" in argv
    assert after_main_class(argv, tool.main_class) == [
        "--bootstrap-server",
        BOOTSTRAP,
        "--command-config",
        str(config),
        "--list",
    ]


def test_a_server_or_properties_file_the_operator_names_is_not_overridden() -> None:
    tool = TOOLS["kafka-topics"]
    mine = ["--bootstrap-server=elsewhere:9092", "--command-config", "mine.properties", "--list"]

    argv = tool_argv(
        tool, mine, bootstrap=BOOTSTRAP, libs=LIBS, command_config=Path("ours.properties")
    )

    assert after_main_class(argv, tool.main_class) == mine


def test_without_properties_only_the_bootstrap_is_added() -> None:
    tool = TOOLS["kafka-acls"]

    argv = tool_argv(tool, ["--list"], bootstrap=BOOTSTRAP, libs=LIBS)

    assert after_main_class(argv, tool.main_class) == ["--bootstrap-server", BOOTSTRAP, "--list"]
