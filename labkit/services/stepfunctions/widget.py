"""The execution view: a state machine drawn as a graph, with an execution's path on it, live.

A view, not a model. :class:`ExecutionView` reads :func:`labkit.services.stepfunctions.state.
target_snapshot` (the machine's graph and the execution it follows) after every cell and renders
it with :mod:`labkit.services.stepfunctions.view`: states with how they went, retries and lab
time, the path taken, each state's input and output one click away (one line in the text form).
Create it with ``lab.execution_view(...)``; ``hold=True`` (or ``.hold()``) keeps one moment, for
text that describes it ("the approval is still waiting").

The snapshot is plain frozen data (:class:`~.state.MachineGraph`, :class:`~.state.
ExecutionSnapshot`) held in unsynced traits: the front end gets the rendering, which is what the
page shows and what an export keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Any as AnyTrait
from traitlets import Unicode

from labkit.services.stepfunctions.view import render_html, render_text
from labkit.views.base import panel_html, panel_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox
    from labkit.services.stepfunctions.state import Target


class ExecutionView(LiveView):
    """A state machine and one of its executions, refreshed after every cell.

    Args:
        sandbox: The sandbox the machine lives in.
        target: What to follow (:func:`execution_view` finds it from a name or an ARN).
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The machine as a graph (a :class:`~.state.MachineGraph`, ``None`` once deleted).
    machine = AnyTrait(None)
    #: The execution shown (an :class:`~.state.ExecutionSnapshot`, ``None`` before one runs).
    execution = AnyTrait(None)
    #: The machine's ARN (what the view follows), for the front end and for tests.
    machine_arn = Unicode("").tag(sync=True)

    def __init__(
        self, sandbox: Sandbox, target: Target, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._sandbox = sandbox
        self._target = target
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.machine_arn = target.machine
        self.add_class("labkit-execution-view")

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The graph and the execution, read now."""
        from labkit.services.stepfunctions.state import target_snapshot

        machine, execution = target_snapshot(self._target)
        return {"machine": machine, "execution": execution}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the execution as it last saw it."

    def _gone(self) -> str:
        return f"The state machine {self._target.machine.rsplit(':', 1)[-1]} no longer exists."

    def to_html(self) -> str:
        """The graph and the execution as self-contained HTML."""
        if self.machine is None:
            if self.moment is None:
                return ""
            return panel_html(
                kind="stepfunctions", heading=self._gone(), body="", notice=self.notice
            )
        return render_html(self.machine, self.execution, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The graph and the execution as plain text."""
        if self.machine is None:
            if self.moment is None:
                return "Step Functions view (not read yet)"
            return panel_text(self._gone(), [], notice=self.notice)
        return render_text(self.machine, self.execution, notice=self.notice, hint=self._hint())


def execution_view(
    sandbox: Sandbox, what: str | None = None, *, hold: bool = False
) -> ExecutionView:
    """A live view of an execution on its state machine's graph.

    Args:
        sandbox: The lab's sandbox.
        what: An execution (ARN or name: that one), a state machine (name or ARN: its newest
            execution, whichever that is when the view reads), or ``None`` (the machine of the
            newest execution, or the only machine).
        hold: Keep the moment of this call.

    Raises:
        StateMachineNotFoundError: No such machine or execution, or nothing to show.
    """
    from labkit.services.stepfunctions.state import find_target

    # Found before the widget exists: a widget whose construction fails cannot be closed cleanly.
    return ExecutionView(sandbox, find_target(what), hold=hold)


__all__ = ["ExecutionView", "execution_view"]
