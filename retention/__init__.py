"""Scheduled, verified forgetting: policies, pure selection, jobs under a lease, the scheduler.

A leaf package: it declares the Protocols it needs (``retention.store``) and the service
implements them.
"""
