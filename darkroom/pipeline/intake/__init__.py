"""Intake: photos entering the pipeline, by request, by folder scan or by the hot folder."""
