# BAD NODES PY
# A node whose tasks keep failing at once must not end the search. A freed
# host goes back to the head of the pool, so a broken node takes the next
# task, fails it in seconds, and takes the next: it would spend the failure
# budget (max_failures) and mark good points failed for ever.
#
#   A task that fails (not a timeout) within `seconds` of its start, on
#   hosts of the pool, is a strike against each of its hosts; its point is
#   tried once more elsewhere (Workflow: the failed row stays, a later task
#   runs the point again, so resume treats the row as superseded, and the
#   failure counts against max_failures only if the second try fails too).
#   A second try that fails at once as well clears the first hosts' strikes:
#   the point is bad, not the node. Any other ending on a host (ok, pruned,
#   a later failure) clears its strikes.
#   A host with `failures` strikes in a row is quarantined: the pool hands
#   out no more of its seats. Not when many hosts have strikes at once (a
#   broken script or file system fails everywhere: the failure policy must
#   see that), and never the hosts the tasks still need.
#
# Threading: the search loop's thread only (Workflow._record).

from dataclasses import dataclass, field

# A host is quarantined only while at most this share of the usable hosts
# (and at least one task's hosts) has strikes: a bad node is one among good
# ones. With PARALLELISM > 1 a failure strikes all the task's hosts: a good
# host placed twice in a row beside a bad one goes out with it.
SUSPECT_SHARE = 0.25


@dataclass
class BadNodes:
    """Strikes per host, and the hosts taken out of the pool.

    Parameters
    ----------
    failures : int
        Failures at once in a row that make a host bad (0: never).
    seconds : float
        A failure within this many seconds of the task's start is "at once".
    """

    failures: int
    seconds: float
    strikes: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)  # host: its strikes

    @property
    def on(self) -> bool:
        """The policy is in force (failures > 0)."""
        return self.failures > 0

    def at_once(self, seconds: float) -> bool:
        """A failure after `seconds` counts as one at once."""
        return self.on and seconds < self.seconds

    def failed_at_once(self, hosts: list[str], usable: int, needed: int) -> list[str]:
        """A task failed at once on `hosts`: the hosts to quarantine now.

        Parameters
        ----------
        hosts : the task's hosts
        usable : hosts of the pool not quarantined
        needed : hosts one task needs (PARALLELISM): never fewer are left
        """
        for host in hosts:
            self.strikes[host] = self.strikes.get(host, 0) + 1
        limit = max(needed, int(usable * SUSPECT_SHARE))
        if len(self.strikes) > limit:
            return []
        out = [h for h in hosts if self.strikes[h] >= self.failures]
        out = out[:max(0, usable - needed)]
        for host in out:
            self.quarantined[host] = self.strikes.pop(host)
        return out

    def cleared(self, hosts: list[str]) -> None:
        """A task ended otherwise on `hosts`, or its point proved bad: no strikes."""
        for host in hosts:
            self.strikes.pop(host, None)

    def summary(self) -> str:
        """`quarantined: host (N failures at once), ...`, or "" when none was."""
        if not self.quarantined:
            return ""
        return "quarantined: " + ", ".join(f"{h} ({n} failures at once)"
                                           for h, n in self.quarantined.items())
