"""The launch console's service side: signing in through Mattermost, sessions, roles, and the
committee's decision posts. The pages themselves live in ``webhooks/console/``."""
