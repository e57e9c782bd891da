"""The launch communication plan: teasers, the CEO's announcement, manager messages, events,
reminders, launch day and the follow-up, planned from ``seed_content/campaign/`` and sent once
per recipient by e-mail or in the platform."""
