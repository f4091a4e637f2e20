"""Flask extensions, created unbound so models never import the app."""

from flask import current_app, g, has_request_context
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so that migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: where the read-only streaming replica's engine lives (``DATABASE_REPLICA_URL``):
#: ``app.extensions[REPLICA]``. Not a Flask-SQLAlchemy bind: a bind key is registered
#: for every app of the process, and ``create_all`` then wants it everywhere.
REPLICA = "yijia_replica"


class RoutingSession(FlaskSQLAlchemySession):
    """Reads of a request marked ``g.read_from_replica`` (heavy read-only pages: see
    ``register_replica`` in ``app/__init__.py``) go to the replica when one is
    configured; every write (a flush, an INSERT/UPDATE/DELETE statement: the audit row
    of an export, say) goes to the primary, always."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (
            bind is None
            and not self._flushing
            and not getattr(clause, "is_dml", False)
            and has_request_context()
            and g.get("read_from_replica")
        ):
            replica = current_app.extensions.get(REPLICA)
            if replica is not None:
                return replica
        return super().get_bind(mapper, clause, bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: no default limits: what is throttled says so (``app/throttle.py``); the storage
#: comes from ``RATELIMIT_STORAGE_URI`` (Redis when ``REDIS_URL`` is set)
limiter = Limiter(key_func=get_remote_address)
