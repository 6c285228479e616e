"""The web service's routes, one router per resource.

* :mod:`~dongne.service.routes.accounts` — health, you and your tokens, users, workspaces,
  members and the audit log;
* :mod:`~dongne.service.routes.datasets` — upload, list, download, delete, share, match report;
* :mod:`~dongne.service.routes.runs` — queue, follow, cancel runs and fetch their results;
* :mod:`~dongne.service.routes.models` — shared models: predict by reference, model cards,
  publishing (:mod:`dongne.share`);
* :mod:`~dongne.service.routes.dashboard` — the offline map dashboard.

Each router depends only on :mod:`dongne.service.deps`; :func:`dongne.service.app.create_app`
includes them in this order.
"""
