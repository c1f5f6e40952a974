"""Stage 5, the jobs the command line runs: ``run`` (the main job), ``prepare``, ``forecast`` and ``check``,
plus the model card a run writes (``card``). Each only orchestrates the stages below it.
"""
