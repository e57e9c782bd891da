"""The registry of every capability's models.

Alembic's autogenerate and ``envol db check`` compare the database with ``Base.metadata``; a
model module that is not imported here is invisible to them. Add one line per capability.
"""

from plugin.audit import models as audit_models  # noqa: F401
from plugin.security import models as security_models  # noqa: F401
from plugin.db import Base

metadata = Base.metadata
