"""The registry of every capability's models and erasers.

Alembic's autogenerate and ``envol db check`` compare the database with ``Base.metadata``; a
model module that is not imported here is invisible to them. ``envol people forget`` runs every
eraser registered here (``plugin/erasure.py``) and refuses to run before this module is imported.
Add one line per capability for each.
"""

from plugin import erasure
from plugin import queue as queue_models  # noqa: F401
from plugin.audit import forget as audit_forget  # noqa: F401
from plugin.audit import models as audit_models  # noqa: F401
from plugin.branding import forget as branding_forget  # noqa: F401
from plugin.branding import models as branding_models  # noqa: F401
from plugin.campaigns import forget as campaigns_forget  # noqa: F401
from plugin.campaigns import models as campaigns_models  # noqa: F401
from plugin.cohorts import forget as cohorts_forget  # noqa: F401
from plugin.cohorts import models as cohorts_models  # noqa: F401
from plugin.console import forget as console_forget  # noqa: F401
from plugin.console import models as console_models  # noqa: F401
from plugin.db import Base
from plugin.delivery import models as delivery_models  # noqa: F401
from plugin.invitations import forget as invitations_forget  # noqa: F401
from plugin.invitations import models as invitations_models  # noqa: F401
from plugin.metrics import forget as metrics_forget  # noqa: F401
from plugin.metrics import models as metrics_models  # noqa: F401
from plugin.onboarding import forget as onboarding_forget  # noqa: F401
from plugin.onboarding import models as onboarding_models  # noqa: F401
from plugin.people import forget as people_forget  # noqa: F401
from plugin.people import models as people_models  # noqa: F401
from plugin.security import models as security_models  # noqa: F401
from plugin.seeding import models as seeding_models  # noqa: F401
from plugin.slash_registration import models as slash_registration_models  # noqa: F401
from plugin.support import forget as support_forget  # noqa: F401
from plugin.support import models as support_models  # noqa: F401
from plugin.surveys import forget as surveys_forget  # noqa: F401
from plugin.surveys import models as surveys_models  # noqa: F401

metadata = Base.metadata
erasure.all_registered()
