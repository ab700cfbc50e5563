"""imgq: a batch image processor for the shell, cron jobs and Makefiles."""

__version__ = "0.1.0"
