"""Model registry: versioned, immutable, hash-checked models with schema and model card.

Bookkeeping (registered models, numbered versions, aliases such as ``production``, tags) is
MLflow's model registry, on a local SQLite file by default or on the service's database
(``database_url``); the artefacts live under ``root/artifacts/<name>/<uuid>/``, written once
and made read-only. At registration the SHA-256 of every artefact (model, schema, card) is
recorded in the registry's database; loading recomputes them and refuses a file that
changed, *before* anything is deserialised.

Formats are safe: models trained by :func:`dongne.share.federate` are plain JSON (numbers
only), scikit-learn estimators (pipelines and the ``dongne.learn`` wrappers included) are
stored with ``skops``, which reconstructs only allow-listed types and never runs pickle.

References
----------
MLflow Model Registry documentation (registered models, versions, aliases,
``models:/<name>@<alias>`` URIs), mlflow.org.
Mitchell, M., et al. (2019). Model cards for model reporting. *FAT\\* 2019*.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import stat
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from dongne import __version__
from dongne._optional import import_optional
from dongne._vocab import Lang, bilingual
from dongne.errors import DataError, SpecificationError
from dongne.share.card import ModelCard
from dongne.share.protocol import FederatedModel
from dongne.share.schema import InputSchema, infer_schema
from dongne.share.trees import FederatedTreeModel

__all__ = [
    "TRUSTED_MODULES",
    "ModelIntegrityError",
    "ModelRegistry",
    "ModelVersion",
    "parse_ref",
]

# skops reconstructs only types from these packages without an explicit ``trusted`` list
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.", "dongne.", "builtins.", "collections.")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_REF = re.compile(
    r"^(?:models:/)?(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})"
    r"(?:@(?P<alias>[A-Za-z][A-Za-z0-9_-]*)|/(?P<version>[0-9]+))?$"
)
_TAG = "dongne."


class ModelIntegrityError(DataError):
    """A stored model file differs from the one registered (its SHA-256 changed)."""


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """Split ``"name"``, ``"name@alias"`` or ``"name/3"`` (``models:/`` prefix allowed).

    Examples
    --------
    >>> parse_ref("basement@production"), parse_ref("models:/basement/3")
    (('basement', 'production', None), ('basement', None, 3))
    """
    match = _REF.match(str(ref))
    if not match:
        raise SpecificationError(
            f"Model reference {ref!r} is not understood. Fix: use 'name' (latest version), "
            "'name@alias' (e.g. basement@production) or 'name/3' (version 3)."
        )
    version = match["version"]
    return match["name"], match["alias"], None if version is None else int(version)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelVersion:
    """One registered, immutable model version (metadata; :meth:`ModelRegistry.load` gives
    the model itself).

    Attributes
    ----------
    name, version : str, int
    aliases : tuple of str
    format : {"dongne-json", "skops"}
    schema : InputSchema
    card : ModelCard
    sha256 : dict
        Recorded hashes of ``model``, ``schema`` and ``card`` files.
    path : Path
        Artefact folder.
    created_utc : str
    """

    name: str
    version: int
    aliases: tuple[str, ...]
    format: str
    schema: InputSchema
    card: ModelCard
    sha256: dict[str, str]
    path: Path
    created_utc: str

    @property
    def ref(self) -> str:
        """``"name/version"``."""
        return f"{self.name}/{self.version}"

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Name, version, aliases, inputs and the model card, in English or Korean."""
        head = (
            f"{self.name} v{self.version}"
            + (f" (@{', @'.join(self.aliases)})" if self.aliases else "")
            + f" — {self.format}, sha256 {self.sha256['model'][:12]}…"
        )
        inputs = ", ".join(
            f"{c.name} ({c.type}{', ' + c.unit if c.unit else ''})" for c in self.schema.columns
        )
        label = "입력" if lang == "ko" else "Inputs"
        return "\n".join([head, f"{label}: {inputs}", self.card.summary(lang)])

    def to_frame(self) -> pd.DataFrame:
        """The input schema as a table (name, type, unit)."""
        return pd.DataFrame(self.schema.to_dict(), columns=["name", "type", "unit"])


def _create_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    query = text("SELECT 1 FROM pg_database WHERE datname = :name")
    try:
        with engine.connect() as conn:
            if conn.execute(query, {"name": target.database}).scalar():
                return
            try:
                name = target.database.replace('"', '""')
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception:
                # another process may have created it meanwhile
                if not conn.execute(query, {"name": target.database}).scalar():
                    raise
    except Exception as err:
        raise DataError(
            f"Cannot reach or create the registry database {target.database!r} on "
            f"{target.host}: {err}. Fix: create it (CREATE DATABASE) or give a URL the "
            "registry may use."
        ) from err
    finally:
        engine.dispose()


class ModelRegistry:
    """A model registry on a folder (artefacts) and a database (MLflow's registry store).

    Parameters
    ----------
    root : path-like, optional
        Folder for artefacts and, by default, the SQLite database ``registry.sqlite3``.
        Default: ``$DONGNE_REGISTRY`` or ``./dongne-registry``.
    database_url : str, optional
        SQLAlchemy URL of the registry database (e.g. ``postgresql://user@host/models`` on
        the service's PostgreSQL; the database is created if missing); default the SQLite
        file in ``root``. Use a database of its own: MLflow keeps its own Alembic history.
    service_database_url : str, optional
        SQLAlchemy URL of the web service's database, where the workspaces live. Naming a
        workspace (:meth:`set_access`, :meth:`require_workspaces`) checks there that it
        exists, so that a model cannot be registered for a workspace before it is created
        and then fall to whoever creates it. Default: the service's SQLite file
        ``root/../dongne.sqlite3`` when ``root`` is a service's ``<data-dir>/models``.

    Examples
    --------
    See ``docs/share.md``; tests in ``tests/test_share_registry.py``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
        service_database_url: str | None = None,
    ) -> None:
        self.root = Path(root or os.environ.get("DONGNE_REGISTRY", "dongne-registry"))
        self.database_url = database_url
        if service_database_url is None and (self.root.parent / "dongne.sqlite3").is_file():
            sqlite = (self.root.parent / "dongne.sqlite3").resolve()
            service_database_url = f"sqlite:///{sqlite}"
        self.service_database_url = service_database_url
        self._client_obj: Any = None

    # -------------------------------------------------------------- MLflow underneath
    @property
    def _client(self) -> Any:
        if self._client_obj is None:
            tracking = import_optional("mlflow.tracking", "registry", "The model registry")
            import_optional("alembic", "registry", "The model registry's SQL store")
            self.root.mkdir(parents=True, exist_ok=True)
            url = self.database_url or f"sqlite:///{(self.root / 'registry.sqlite3').resolve()}"
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            if url.startswith("postgresql"):
                import_optional("psycopg", "registry", "A PostgreSQL model registry")
                _create_postgres_database(url)
            for logger in ("mlflow.store.db.utils", "alembic.runtime.migration"):
                logging.getLogger(logger).setLevel(logging.WARNING)
            self._client_obj = tracking.MlflowClient(tracking_uri=url, registry_uri=url)
        return self._client_obj

    def _names(self) -> list[str]:
        names, token = [], None
        while True:
            page = self._client.search_registered_models(max_results=1000, page_token=token)
            names += [m.name for m in page]
            token = page.token
            if not token:
                return sorted(names)

    def _versions(self, name: str) -> list[Any]:
        found, token = [], None
        while True:
            page = self._client.search_model_versions(
                f"name='{name}'", max_results=1000, page_token=token
            )
            found += list(page)
            token = page.token
            if not token:
                return sorted(found, key=lambda v: int(v.version))

    def _mlflow_version(self, name: str, alias: str | None, version: int | None) -> Any:
        from mlflow.exceptions import MlflowException

        if name not in self._names():
            raise DataError(
                f"No model named {name!r} in the registry at {self.root}. Registered models: "
                f"{self._names() or 'none'}. Fix: check the name or register the model first."
            )
        try:
            if alias is not None:
                return self._client.get_model_version_by_alias(name, alias)
            if version is not None:
                return self._client.get_model_version(name, str(version))
        except MlflowException as err:
            known = sorted(self._client.get_registered_model(name).aliases)
            versions = [int(v.version) for v in self._versions(name)]
            what = f"alias {alias!r}" if alias is not None else f"version {version}"
            raise DataError(
                f"Model {name!r} has no {what}. Aliases: {known or 'none'}; versions: "
                f"{versions}. Fix: use one of these, e.g. {name}/{versions[-1]}."
            ) from err
        versions = self._versions(name)
        if not versions:
            raise DataError(
                f"Model {name!r} has no versions yet. Fix: register one with register()."
            )
        return versions[-1]

    # -------------------------------------------------------------------- registering
    def register(
        self,
        name: str,
        model: Any,
        card: ModelCard,
        *,
        schema: InputSchema | None = None,
        X: pd.DataFrame | None = None,
        units: Mapping[str, str] | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Register a fitted model as the next version of ``name``.

        Parameters
        ----------
        name : str
            Letters, digits, ``_``, ``.``, ``-`` (no ``@`` or ``/``).
        model : estimator
            A :class:`FederatedModel`, or any fitted scikit-learn-compatible estimator. For
            the ``dongne.learn`` robust wrappers the fitted ``estimator_`` (which makes their
            predictions) is stored and the wrapper's class recorded in the tag
            ``dongne.trained_with``; put their group reports on the card.
        card : ModelCard
        schema : InputSchema, optional
            Input columns; else inferred from ``X`` (a sample of the training features) with
            ``units``, else from the model's ``feature_names_in_`` (all ``float``).
        description : str

        Returns
        -------
        ModelVersion

        Raises
        ------
        SpecificationError
            Bad name, no way to know the schema, or schema columns that differ from the
            model's features.

        Notes
        -----
        Artefacts are written and hashed first; the version is created in the database last.
        If that fails the artefacts are removed: a version is never half-registered.
        """
        if not _NAME.match(str(name)):
            raise SpecificationError(
                f"Model name {name!r} is not allowed. Fix: use letters, digits, '_', '.', '-' "
                "(at most 100 characters, no '@' or '/')."
            )
        trained_with = f"{type(model).__module__}.{type(model).__name__}"
        if type(model).__module__.startswith("dongne.learn") and hasattr(model, "estimator_"):
            # the robust wrappers predict with their fitted estimator_; their diagnostics
            # (pandas tables) belong on the model card, not in the model file
            model = model.estimator_
        schema = self._schema_for(model, schema, X, units)
        if isinstance(model, FederatedModel | FederatedTreeModel):
            fmt, payload = "dongne-json", json.dumps(model.to_dict()).encode("utf-8")
        else:
            fmt, payload = "skops", _skops_dumps(model)
        folder = self.root / "artifacts" / name / uuid.uuid4().hex
        folder.mkdir(parents=True)
        try:
            files = {
                "model": ("model.json" if fmt == "dongne-json" else "model.skops", payload),
                "schema": ("schema.json", json.dumps(schema.to_dict(), ensure_ascii=False)),
                "card": ("card.json", json.dumps(card.to_dict(), ensure_ascii=False)),
            }
            hashes = {}
            for key, (filename, content) in files.items():
                path = folder / filename
                data = content if isinstance(content, bytes) else content.encode("utf-8")
                path.write_bytes(data)
                path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                hashes[key] = _sha256(path)
            client = self._client
            if name not in self._names():
                client.create_registered_model(name, description=description or None)
            tags = {f"{_TAG}sha256.{k}": v for k, v in hashes.items()}
            tags.update(
                {
                    f"{_TAG}format": fmt,
                    f"{_TAG}version": __version__,
                    f"{_TAG}created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                    f"{_TAG}model_file": files["model"][0],
                    f"{_TAG}trained_with": trained_with,
                }
            )
            mv = client.create_model_version(
                name, source=str(folder.resolve()), tags=tags, description=description or None
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return self.get(f"{name}/{mv.version}")

    @staticmethod
    def _schema_for(
        model: Any,
        schema: InputSchema | None,
        X: pd.DataFrame | None,
        units: Mapping[str, str] | None,
    ) -> InputSchema:
        if schema is None and X is not None:
            schema = infer_schema(X, units)
        names = getattr(model, "feature_names_in_", None)
        if schema is None and names is not None:
            schema = infer_schema(pd.DataFrame({str(n): [0.0] for n in names}), units)
        if schema is None:
            raise SpecificationError(
                "Cannot tell the model's input columns. Fix: pass X= (a sample of the "
                "training features as a DataFrame) or schema=InputSchema([...])."
            )
        if names is not None and [str(n) for n in names] != schema.names:
            raise SpecificationError(
                f"The schema lists columns {schema.names} but the model was fitted on "
                f"{[str(n) for n in names]}. Fix: give the schema of the training features, "
                "in training order."
            )
        return schema

    # ---------------------------------------------------------------------- reading
    def get(self, ref: str) -> ModelVersion:
        """Metadata of a version (``name``, ``name@alias``, ``name/3``), hashes verified."""
        name, alias, version = parse_ref(ref)
        mv = self._mlflow_version(name, alias, version)
        tags = dict(mv.tags)
        folder = Path(mv.source)
        hashes = {k: tags[f"{_TAG}sha256.{k}"] for k in ("model", "schema", "card")}
        self._verify(folder / "schema.json", hashes["schema"], f"{name}/{mv.version}")
        self._verify(folder / "card.json", hashes["card"], f"{name}/{mv.version}")
        schema = InputSchema.from_dict(json.loads((folder / "schema.json").read_text("utf-8")))
        card = ModelCard.from_dict(json.loads((folder / "card.json").read_text("utf-8")))
        aliases = tuple(
            sorted(
                a
                for a, v in self._client.get_registered_model(name).aliases.items()
                if int(v) == int(mv.version)
            )
        )
        return ModelVersion(
            name=name,
            version=int(mv.version),
            aliases=aliases,
            format=tags[f"{_TAG}format"],
            schema=schema,
            card=card,
            sha256=hashes,
            path=folder,
            created_utc=tags[f"{_TAG}created_utc"],
        )

    @staticmethod
    def _verify(path: Path, expected: str, ref: str) -> None:
        if not path.exists():
            raise ModelIntegrityError(
                f"Model {ref}: file {path} is missing. Fix: restore the registry folder from "
                "a backup; do not re-create files by hand."
            )
        actual = _sha256(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"Model {ref}: {path.name} has SHA-256 {actual[:16]}… but {expected[:16]}… "
                "was recorded at registration — the file was changed or replaced, so it is "
                "not loaded. Fix: restore the original file, or register the model again "
                "from a trusted source."
            )

    def load(self, ref: str, trusted: Sequence[str] = ()) -> Any:
        """The model itself, after its SHA-256 is verified.

        Parameters
        ----------
        ref : str
        trusted : sequence of str
            Extra fully qualified type names that skops may rebuild (beyond
            :data:`TRUSTED_MODULES`), e.g. ``["lightgbm.sklearn.LGBMRegressor"]``.

        Raises
        ------
        ModelIntegrityError
            If the file differs from the one registered.
        DataError
            If a skops file contains types outside the trusted set.
        """
        mv = self.get(ref)
        tags = dict(self._mlflow_version(mv.name, None, mv.version).tags)
        path = mv.path / tags[f"{_TAG}model_file"]
        self._verify(path, mv.sha256["model"], mv.ref)
        if mv.format == "dongne-json":
            data = json.loads(path.read_text("utf-8"))
            if data.get("format") == "dongne.share.FederatedTreeModel":
                return FederatedTreeModel.from_dict(data)
            return FederatedModel.from_dict(data)
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(TRUSTED_MODULES) and t not in trusted]
        if refused:
            raise DataError(
                f"Model {mv.ref} contains types {refused} that are not trusted. Fix: check "
                "where the model comes from and, if you trust it, pass trusted=[...] with "
                "those names."
            )
        return sio.load(path, trusted=list(untrusted))

    def list(self) -> pd.DataFrame:
        """One row per version: name, version, aliases, format, created, intended use."""
        rows = []
        for name in self._names():
            aliases = self._client.get_registered_model(name).aliases
            for mv in self._versions(name):
                tags = dict(mv.tags)
                rows.append(
                    {
                        "name": name,
                        "version": int(mv.version),
                        "aliases": ",".join(
                            sorted(a for a, v in aliases.items() if int(v) == int(mv.version))
                        ),
                        "format": tags.get(f"{_TAG}format", ""),
                        "created_utc": tags.get(f"{_TAG}created_utc", ""),
                        "sha256": tags.get(f"{_TAG}sha256.model", "")[:12],
                    }
                )
        columns = ["name", "version", "aliases", "format", "created_utc", "sha256"]
        return (
            pd.DataFrame(rows, columns=columns)
            .sort_values(["name", "version"])
            .reset_index(drop=True)
        )

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``name@alias`` at ``version`` (aliases move; versions never change)."""
        if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", alias) or alias.lower() == "latest":
            raise SpecificationError(
                f"Alias {alias!r} is not allowed. Fix: use a word such as 'production' or "
                "'staging' (letters, digits, '_', '-'; not 'latest')."
            )
        self._mlflow_version(name, None, int(version))
        self._client.set_registered_model_alias(name, alias, str(int(version)))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``name@alias`` (the version stays)."""
        self._mlflow_version(name, alias, None)
        self._client.delete_registered_model_alias(name, alias)

    def set_access(
        self,
        name: str,
        *,
        owner: str | None = None,
        publish_to: Sequence[str] = (),
        unpublish: Sequence[str] = (),
        offer_to: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Record which workspace owns ``name`` and which others may use it.

        Access is metadata of the registered model (all its versions), kept in MLflow tags;
        the versions themselves stay immutable. ``"*"`` in ``publish_to`` publishes to
        everyone. ``offer_to`` records workspaces a model is offered to (the service
        publishes to them once an owner there accepts); publishing to a workspace ends its
        offer, ``unpublish`` withdraws both. Every workspace named in ``owner``,
        ``publish_to`` and ``offer_to`` must exist in the service's database
        (:meth:`require_workspaces`). Returns :meth:`access`.

        Raises
        ------
        SpecificationError
            A named workspace does not exist, or no service database is attached.
        """
        self._mlflow_version(name, None, None)
        named = [*publish_to, *offer_to] + ([owner] if owner is not None else [])
        self.require_workspaces(named)
        current = self.access(name)
        if owner is not None:
            self._client.set_registered_model_tag(name, f"{_TAG}owner", owner)
        published = (set(current["published_to"]) | set(publish_to)) - set(unpublish)
        offered = (set(current["offered_to"]) | set(offer_to)) - published - set(unpublish)
        for tag, value in (("published_to", published), ("offered_to", offered)):
            self._client.set_registered_model_tag(name, f"{_TAG}{tag}", ",".join(sorted(value)))
        return self.access(name)

    def require_workspaces(self, slugs: Sequence[str]) -> None:
        """Check that every workspace in ``slugs`` (``"*"``, everyone, aside) exists.

        The workspaces are the web service's (table ``workspaces`` of
        ``service_database_url``). A name that is not yet a workspace is refused: otherwise
        whoever creates a workspace of that name later would own the model (squatting).

        Raises
        ------
        SpecificationError
            A workspace does not exist, or the registry has no service database to ask.
        """
        wanted = sorted({s for s in slugs if s != "*"})
        if not wanted:
            return
        if self.service_database_url is None:
            raise SpecificationError(
                f"The registry at {self.root} cannot check that workspace(s) "
                f"{', '.join(map(repr, wanted))} exist: no service database is attached. Fix: "
                "pass --service-database-url URL (ModelRegistry(service_database_url=...)), the "
                "database of 'dongne serve', or use --registry DATA_DIR/models of a service "
                "with its SQLite database in DATA_DIR."
            )
        sa = import_optional("sqlalchemy", "registry", "Checking service workspaces")
        url = self.service_database_url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                query = sa.text("SELECT slug FROM workspaces WHERE slug IN :slugs").bindparams(
                    sa.bindparam("slugs", expanding=True)
                )
                found = set(conn.execute(query, {"slugs": wanted}).scalars())
        except sa.exc.SQLAlchemyError as err:
            raise SpecificationError(
                f"Cannot read the workspaces from the service database "
                f"{sa.engine.make_url(url).render_as_string()} ({type(err).__name__}). Fix: "
                "pass --service-database-url URL of the database of 'dongne serve'."
            ) from None
        finally:
            engine.dispose()
        missing = [s for s in wanted if s not in found]
        if missing:
            raise SpecificationError(
                f"No workspace {', '.join(map(repr, missing))} in the service database. Fix: "
                "create the workspace first (POST /workspaces, or 'dongne serve --create-user "
                "NAME --workspace SLUG'), then name it with --workspace."
            )

    def access(self, name: str) -> dict[str, Any]:
        """``{"owner": workspace or None, "published_to": [workspaces, or "*"],
        "offered_to": [workspaces]}``."""
        if not _NAME.match(str(name)) or name not in self._names():
            raise DataError(f"No model named {name!r} in the registry at {self.root}.")
        tags = self._client.get_registered_model(name).tags
        published = tags.get(f"{_TAG}published_to", "")
        offered = tags.get(f"{_TAG}offered_to", "")
        return {
            "owner": tags.get(f"{_TAG}owner"),
            "published_to": [w for w in published.split(",") if w],
            "offered_to": [w for w in offered.split(",") if w],
        }

    def card_html(self, ref: str, lang: str = "en") -> str:
        """The model card page of a version (HTML, English or Korean)."""
        mv = self.get(ref)
        return mv.card.to_html(mv.name, mv.version, mv.schema.to_dict(), lang=lang)


def _skops_dumps(model: Any) -> bytes:
    sio = import_optional("skops.io", "registry", "Registering a scikit-learn estimator")
    try:
        return sio.dumps(model)
    except Exception as err:
        raise SpecificationError(
            f"{type(model).__name__} cannot be stored safely with skops ({err}). Fix: "
            "register a scikit-learn-compatible estimator, or a model from federate()."
        ) from err
