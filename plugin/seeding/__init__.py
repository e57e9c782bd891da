"""Declarative seeding: ``seed_content/`` describes teams, channels and posts; Envol makes
Mattermost match it (validate, plan, apply, drift), without ever duplicating anything."""
