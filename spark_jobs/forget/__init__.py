"""Forget a person: erase a data subject from a topic's four tables and their history.

``python -m spark_jobs.forget --topic orders --field customer_email --values-file ann.txt``

- ``request.py``: the command line (one definition: Airflow writes it, the command reads it);
- ``subject.py``: how the subject's rows are recognised in each table (clear value, HMAC token, key);
- ``forgotten_keys.py``: the forgotten keys' tokens, which the job drops on arrival;
- ``erase.py``: delete, rewrite what held the rows, carry the checkpoints, expire the rest;
- ``command.py``: the order of it all, the report.

docs/RELIABILITY.md, "Forgetting a person", says why it is safe for the checkpoints.
"""
