"""A progress bar over evaluations (tqdm on stderr) with rate and ETA; silent with -quiet."""
from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    def __init__(self, total: int | None, label: str, enabled: bool = True):
        self.cached = 0
        self.failed = 0
        self.bar = tqdm(total=total, desc=label, unit="sample", file=sys.stderr, disable=not enabled,
                        dynamic_ncols=True, leave=True, smoothing=0.1)

    def update(self, cached: bool = False, failed: bool = False) -> None:
        self.cached += cached
        self.failed += failed
        self.bar.update(1)
        if cached or failed:
            self.bar.set_postfix(cached=self.cached, failed=self.failed, refresh=False)

    def close(self) -> None:
        self.bar.close()
