"""Branding: site name, brand text and image, team look and the company colour theme."""
