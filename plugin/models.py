"""The registry of every capability's models.

Alembic's autogenerate and ``envol db check`` compare the database with ``Base.metadata``; a
model module that is not imported here is invisible to them. Add one line per capability.
"""

from plugin.audit import models as audit_models  # noqa: F401
from plugin.branding import models as branding_models  # noqa: F401
from plugin.campaigns import models as campaigns_models  # noqa: F401
from plugin.cohorts import models as cohorts_models  # noqa: F401
from plugin.commands import models as commands_models  # noqa: F401
from plugin.console import models as console_models  # noqa: F401
from plugin.db import Base
from plugin.invitations import models as invitations_models  # noqa: F401
from plugin.mail import models as mail_models  # noqa: F401
from plugin.metrics import models as metrics_models  # noqa: F401
from plugin.onboarding import models as onboarding_models  # noqa: F401
from plugin.people import models as people_models  # noqa: F401
from plugin.security import models as security_models  # noqa: F401
from plugin.seeding import models as seeding_models  # noqa: F401
from plugin.support import models as support_models  # noqa: F401
from plugin.surveys import models as surveys_models  # noqa: F401

metadata = Base.metadata
