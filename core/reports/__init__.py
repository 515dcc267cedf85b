"""Rating reports for supervisors and admins, every figure an SQL aggregate on both databases.

- ``scope``: what a report looks at (a period of days in the service's time zone, an agent,
  an inbox) and the SQL that says so;
- ``figures``: counts by bucket and scores summed, and what follows from them (satisfaction,
  average score, NPS);
- ``series``: ratings by agent and over time (day, week or month);
- ``rated``: the ratings themselves with their tickets, a page at a time;
- ``responses``: rating requests sent and answered;
- ``localday``: which local day an instant falls on, in SQL (requests carry no day column).
"""
