"""feedback: tells the police what became of their intelligence (OutcomeReported), and
nothing of the support work itself."""
