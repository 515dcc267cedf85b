"""The rule engine: the live rule set, scheduling runs with the events that cause them, and
the runner that fires them once each.

    live.LiveRules        the rules in force; reload() keeps the last good set on a broken one
    schedule.RuleHook     Desk hook: writes a run row per matching rule in the event's transaction
    runner.Engine         claims due runs (now or delayed) and performs their actions
    perform.Performer     what each action does
"""
