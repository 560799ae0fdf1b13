"""Jobs: the queue in the database, their state transitions, the worker pool and the two
kinds of work it runs (develop and export), which share one render path."""
