"""The A/B harness: task suites × arms (modes and their twins) × epochs, run as Inspect AI tasks, then
paired statistics. Files: suite (folders → Suite), adapters (HumanEval), sample (one run in a worker),
worker/pool (engine hosts, local or Ray), evaltask (the Inspect task), runner, results, stats, analysis,
report."""
