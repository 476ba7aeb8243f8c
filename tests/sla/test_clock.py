"""The SLA clock engine: exact due instants through pauses, priority changes, stops and reopens."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import WorkingTime
from sla.choices import ClockState
from sla.clock import Clock, ClockTransitionError, MilestoneKey, MilestoneKind, Target

NY = ZoneInfo("America/New_York")
OFFICE = WorkingTime.from_hours(
    timezone="America/New_York", hours={day: [("09:00", "17:00")] for day in range(5)}
)
ALWAYS = WorkingTime(timezone="America/New_York", always_open=True)
H = timedelta(hours=1)


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


MONDAY_9 = ny(2026, 11, 23, 9, 0)


def resolution_clock(minutes=480, calendar=OFFICE, at=MONDAY_9) -> Clock:
    return Clock.start(at=at, target=Target(minutes, calendar))


class TestRunning:
    def test_fresh_clock(self):
        status = resolution_clock().status(MONDAY_9 + H)
        assert status.state is ClockState.RUNNING
        assert status.due_at == ny(2026, 11, 23, 17, 0)
        assert status.spent == H
        assert status.remaining == 7 * H
        assert status.paused == timedelta(0)
        assert status.breached_at is None

    def test_spent_does_not_grow_outside_working_hours(self):
        clock = resolution_clock()
        assert clock.status(ny(2026, 11, 23, 20, 0)).spent == 8 * H
        assert clock.status(ny(2026, 11, 24, 8, 59)).spent == 8 * H

    def test_milestones_at_75_and_90_percent_then_the_breach(self):
        status = resolution_clock().status(MONDAY_9)
        assert [(m.kind, m.percent, m.at) for m in status.milestones] == [
            (MilestoneKind.WARNING, 75, ny(2026, 11, 23, 15, 0)),
            (MilestoneKind.WARNING, 90, ny(2026, 11, 23, 16, 12)),
            (MilestoneKind.BREACH, 100, ny(2026, 11, 23, 17, 0)),
        ]
        assert [str(m.key) for m in status.milestones] == ["warning-75", "warning-90", "breach"]
        assert status.next_milestone(ny(2026, 11, 23, 15, 0)).key == MilestoneKey.warning(90)
        assert status.next_milestone(ny(2026, 11, 23, 17, 0)) is None

    def test_custom_thresholds(self):
        clock = Clock.start(at=MONDAY_9, target=Target(480, OFFICE), warning_percents=(50,))
        assert clock.status(MONDAY_9).milestones[0].at == ny(2026, 11, 23, 13, 0)

    def test_breached_after_the_due_instant_keeps_measuring(self):
        status = resolution_clock().status(ny(2026, 11, 24, 10, 30))
        assert status.state is ClockState.BREACHED
        assert status.breached_at == ny(2026, 11, 23, 17, 0)
        assert status.overdue == 90 * timedelta(minutes=1)
        assert status.remaining == -90 * timedelta(minutes=1)

    def test_at_the_due_instant_itself_not_yet_breached(self):
        assert resolution_clock().status(ny(2026, 11, 23, 17, 0)).state is ClockState.RUNNING

    def test_p1_round_the_clock_across_spring_forward(self):
        clock = resolution_clock(240, ALWAYS, at=ny(2026, 3, 8, 0, 30))
        assert clock.status(ny(2026, 3, 8, 0, 30)).due_at == ny(2026, 3, 8, 5, 30)

    def test_start_exact_to_the_microsecond(self):
        start = ny(2026, 11, 23, 9, 0, 12, 345_678)
        clock = Clock.start(at=start, target=Target(15, ALWAYS))
        assert clock.status(start).due_at == ny(2026, 11, 23, 9, 15, 12, 345_678)


class TestStop:
    def test_stopped_before_due_is_met(self):
        clock = resolution_clock().stop(at=ny(2026, 11, 23, 16, 0))
        status = clock.status(ny(2026, 11, 30))
        assert status.state is ClockState.MET
        assert status.spent == 7 * H
        assert status.stopped_at == ny(2026, 11, 23, 16, 0)
        assert status.milestones == ()

    def test_stopped_exactly_at_due_is_met(self):
        clock = resolution_clock().stop(at=ny(2026, 11, 23, 17, 0))
        assert clock.status(ny(2026, 11, 30)).state is ClockState.MET

    def test_stopped_after_due_is_breached_at_the_due_instant(self):
        clock = resolution_clock().stop(at=ny(2026, 11, 24, 9, 30))
        status = clock.status(ny(2026, 11, 30))
        assert status.state is ClockState.BREACHED
        assert status.breached_at == ny(2026, 11, 23, 17, 0)
        assert status.overdue == timedelta(minutes=30)

    def test_response_clock_is_unaffected_by_stop_outside_hours(self):
        # Reply on Monday 20:00 to a ticket opened at 17:30 with a 60 min response target:
        # no business time has passed, so it is met.
        clock = resolution_clock(60, at=ny(2026, 11, 23, 17, 30)).stop(at=ny(2026, 11, 23, 20, 0))
        status = clock.status(ny(2026, 11, 23, 20, 0))
        assert status.state is ClockState.MET
        assert status.spent == timedelta(0)

    def test_cannot_stop_twice(self):
        clock = resolution_clock().stop(at=MONDAY_9 + H)
        with pytest.raises(ClockTransitionError):
            clock.stop(at=MONDAY_9 + 2 * H)


class TestPause:
    def test_pause_and_resume_move_the_due_instant_by_the_paused_business_time(self):
        clock = resolution_clock().pause(at=ny(2026, 11, 23, 10, 0))
        paused = clock.status(ny(2026, 11, 23, 12, 0))
        assert paused.state is ClockState.PAUSED
        assert paused.due_at is None
        assert paused.spent == H
        assert paused.paused == 2 * H
        assert paused.milestones == ()

        clock = clock.resume(at=ny(2026, 11, 24, 10, 0))  # 8 business hours paused
        status = clock.status(ny(2026, 11, 24, 10, 0))
        assert status.state is ClockState.RUNNING
        assert status.paused == 8 * H
        assert status.spent == H
        assert status.due_at == ny(2026, 11, 24, 17, 0)  # Monday 17:00 + 8 business hours

    def test_no_business_time_accrues_while_paused(self):
        clock = resolution_clock().pause(at=ny(2026, 11, 23, 10, 0))
        assert clock.status(ny(2026, 11, 27, 17, 0)).spent == H

    def test_pause_over_a_weekend_costs_no_paused_business_time(self):
        clock = resolution_clock().pause(at=ny(2026, 11, 27, 17, 0))
        clock = clock.resume(at=ny(2026, 11, 30, 9, 0))
        assert clock.status(ny(2026, 11, 30, 9, 0)).paused == timedelta(0)

    def test_stop_while_paused(self):
        clock = resolution_clock().pause(at=ny(2026, 11, 23, 10, 0)).stop(at=ny(2026, 11, 25, 9, 0))
        status = clock.status(ny(2026, 11, 26))
        assert status.state is ClockState.MET
        assert status.spent == H
        assert status.paused == 15 * H

    def test_pause_again_while_paused_changes_nothing(self):
        clock = resolution_clock().pause(at=ny(2026, 11, 23, 10, 0))
        assert clock.pause(at=ny(2026, 11, 23, 11, 0)) is clock

    def test_resume_when_running_is_refused(self):
        with pytest.raises(ClockTransitionError):
            resolution_clock().resume(at=MONDAY_9 + H)

    def test_transitions_cannot_go_back_in_time(self):
        with pytest.raises(ClockTransitionError):
            resolution_clock().pause(at=MONDAY_9 - H)

    def test_pause_after_the_breach_keeps_the_breach(self):
        clock = resolution_clock().pause(at=ny(2026, 11, 24, 10, 0))
        status = clock.status(ny(2026, 11, 25))
        assert status.state is ClockState.BREACHED
        assert status.breached_at == ny(2026, 11, 23, 17, 0)


class TestPriorityChange:
    def test_raise_keeps_the_time_spent_and_applies_the_new_target(self):
        # P3 (3 business days) opened Monday 09:00; raised at 11:00 to P2 (8 business hours):
        # the 2 hours spent stay spent, due recomputed from the original start.
        clock = resolution_clock(1440).retarget(
            at=ny(2026, 11, 23, 11, 0), target=Target(480, OFFICE)
        )
        status = clock.status(ny(2026, 11, 23, 11, 0))
        assert status.spent == 2 * H
        assert status.due_at == ny(2026, 11, 23, 17, 0)
        assert status.target == 8 * H

    def test_lower_moves_the_due_instant_later(self):
        clock = resolution_clock(480).retarget(
            at=ny(2026, 11, 23, 11, 0), target=Target(1440, OFFICE)
        )
        assert clock.status(ny(2026, 11, 23, 11, 0)).due_at == ny(2026, 11, 25, 17, 0)

    def test_raise_to_a_round_the_clock_priority_counts_only_time_from_the_change(self):
        # Opened Friday 16:00 on office hours, raised to P1 (4 h, 24x7) on Saturday 10:00:
        # 1 business hour was spent on Friday; the next 3 hours run round the clock.
        clock = resolution_clock(1440, at=ny(2026, 11, 20, 16, 0))
        clock = clock.retarget(at=ny(2026, 11, 21, 10, 0), target=Target(240, ALWAYS))
        status = clock.status(ny(2026, 11, 21, 10, 0))
        assert status.spent == H
        assert status.due_at == ny(2026, 11, 21, 13, 0)

    def test_raise_below_the_time_already_spent_is_a_breach_as_of_when_it_ran_out(self):
        clock = resolution_clock(1440).retarget(
            at=ny(2026, 11, 23, 14, 0), target=Target(240, OFFICE)
        )
        status = clock.status(ny(2026, 11, 23, 14, 0))
        assert status.state is ClockState.BREACHED
        assert status.breached_at == ny(2026, 11, 23, 13, 0)
        assert status.due_at == ny(2026, 11, 23, 13, 0)

    def test_lowering_after_a_breach_does_not_undo_it(self):
        clock = resolution_clock(60).retarget(
            at=ny(2026, 11, 23, 12, 0), target=Target(1440, OFFICE)
        )
        status = clock.status(ny(2026, 11, 23, 12, 0))
        assert status.state is ClockState.BREACHED
        assert status.breached_at == ny(2026, 11, 23, 10, 0)
        assert status.due_at == ny(2026, 11, 25, 17, 0)

    def test_priority_change_while_paused(self):
        clock = resolution_clock(1440).pause(at=ny(2026, 11, 23, 10, 0))
        clock = clock.retarget(at=ny(2026, 11, 23, 12, 0), target=Target(480, OFFICE))
        assert clock.status(ny(2026, 11, 23, 12, 0)).state is ClockState.PAUSED
        clock = clock.resume(at=ny(2026, 11, 23, 13, 0))
        assert clock.status(ny(2026, 11, 23, 13, 0)).due_at == ny(2026, 11, 24, 12, 0)


class TestReopen:
    def test_reopen_resumes_with_the_business_time_already_spent(self):
        clock = resolution_clock().stop(at=ny(2026, 11, 23, 13, 0))
        clock = clock.reopen(at=ny(2026, 11, 24, 9, 0))
        status = clock.status(ny(2026, 11, 24, 9, 0))
        assert status.state is ClockState.RUNNING
        assert status.spent == 4 * H
        assert status.due_at == ny(2026, 11, 24, 13, 0)
        assert status.stopped_at is None

    def test_reopened_clock_can_still_be_met(self):
        clock = (
            resolution_clock().stop(at=ny(2026, 11, 23, 13, 0)).reopen(at=ny(2026, 11, 24, 9, 0))
        )
        clock = clock.stop(at=ny(2026, 11, 24, 12, 0))
        assert clock.status(ny(2026, 11, 25)).state is ClockState.MET

    def test_reopened_clock_that_runs_out_is_breached(self):
        clock = (
            resolution_clock().stop(at=ny(2026, 11, 23, 13, 0)).reopen(at=ny(2026, 11, 24, 9, 0))
        )
        status = clock.status(ny(2026, 11, 24, 14, 0))
        assert status.state is ClockState.BREACHED
        assert status.breached_at == ny(2026, 11, 24, 13, 0)

    def test_breach_survives_resolve_and_reopen(self):
        clock = (
            resolution_clock(60).stop(at=ny(2026, 11, 23, 12, 0)).reopen(at=ny(2026, 11, 24, 9, 0))
        )
        status = clock.stop(at=ny(2026, 11, 24, 9, 5)).status(ny(2026, 11, 25))
        assert status.state is ClockState.BREACHED
        assert status.breached_at == ny(2026, 11, 23, 10, 0)

    def test_reopen_of_a_running_clock_is_refused(self):
        with pytest.raises(ClockTransitionError):
            resolution_clock().reopen(at=MONDAY_9)


def test_targets_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        Target(0, OFFICE)


def test_thresholds_must_be_between_1_and_99():
    with pytest.raises(ValueError, match="between 1 and 99"):
        Clock.start(
            at=datetime(2026, 1, 1, tzinfo=UTC), target=Target(60, OFFICE), warning_percents=(100,)
        )


def test_a_breach_recorded_by_the_sweep_is_kept_in_the_history():
    from datetime import UTC, datetime, timedelta

    from sla.calendar import WorkingTime
    from sla.clock import Clock, Target

    always = WorkingTime(timezone="UTC", always_open=True)
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    clock = Clock.start(at=start, target=Target(60, always))
    late = start + timedelta(minutes=61)
    assert clock.breached_at is None and clock.status(late).breached_at == start + timedelta(
        hours=1
    )
    recorded = clock.record_breach(at=late)
    assert recorded.breached_at == start + timedelta(hours=1)
    assert clock.record_breach(at=start + timedelta(minutes=30)).breached_at is None  # not yet


class TestMilestoneKey:
    @pytest.mark.parametrize(
        ("key", "text", "label"),
        [
            (MilestoneKey.breach(), "breach", "breach"),
            (MilestoneKey.warning(75), "warning-75", "75 % warning"),
            (MilestoneKey.unacknowledged(3), "unack-3", "not acknowledged"),
        ],
    )
    def test_stored_text_reads_back_as_the_same_key(self, key, text, label):
        assert str(key) == text
        assert MilestoneKey.parse(text) == key
        assert key.label == label

    @pytest.mark.parametrize("text", ["", "warning", "warning-", "warning-x", "unack-3-4", "late"])
    def test_anything_else_is_refused(self, text):
        with pytest.raises(ValueError):
            MilestoneKey.parse(text)
