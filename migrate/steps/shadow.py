"""`shadow`: shadow reads of a unit on RDS, on or off."""
from __future__ import annotations

from migrate.gates import require_carrier, require_state
from migrate.run import MOVING, Run
from migrate.units import Unit, switch_group


def shadow(run: Run, unit: Unit, on: bool) -> int:
    """Turn shadow reads of the unit's group on (counters reset) or off."""
    require_carrier(unit, "shadow", then=" on" if on else " off")
    group = switch_group(unit)
    for member in group:
        require_state(run, member, ("replicating", "reads_switched") if on else
                      (*MOVING, "new", "rolled_back", "writes_switched", "finalized",
                       "dropped"), "shadow")
    for member in group:
        if on:
            run.state.update(member, shadow=True, shadow_compared=0, shadow_mismatched=0,
                             shadow_lagged=0, shadow_last=None)
        else:
            run.state.update(member, shadow=False)
    run.state.event(unit, "shadow", "done", "on" if on else "off")
    run.say(f"shadow reads of {', '.join(m.name for m in group)}: {'on' if on else 'off'}")
    return 0
