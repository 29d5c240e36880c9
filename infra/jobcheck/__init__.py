"""``gigafactory check-job``: would a tenant's job be admitted and scheduled on a planned site?

The job is read as users write it (``reader``, ``podsets``), the site as the plan records it
(``site``), and the job runs through the stages the cluster runs, in order (``stages``): admission,
Kueue, scheduling, networks, storage. The first stage that refuses stops the check (``check``).
"""
