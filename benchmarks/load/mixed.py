"""20 people asking rules questions while 5 make image batches, beside people browsing the
library: how the slow, CPU-heavy requests share the server with the cheap ones."""

from benchmarks.load.users import BatchStarter, Browser, RulesAsker, record

__all__ = ["BatchStarter", "Browser", "RulesAsker", "record"]
