"""Rendering seed texts with Jinja2: strict about unknown names, errors with file and line.

Template variables come from the runtime settings (company name, launch date, channel names,
app links) so that the content stays coherent with what the admin set in the System Console.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes

from plugin.i18n import long_date
from plugin.launch_files import LaunchFacts, Problem, TextLocation, literal_fact_problems
from plugin.seeding.content import Language
from plugin.seeding.wording import phrase
from plugin.settings import RuntimeSettings
from plugin.typography import finish, mark_values, number


def template_variables(
    runtime: RuntimeSettings,
    language: Language,
    site_url: str = "",
    facts: LaunchFacts | None = None,
) -> dict[str, Any]:
    """Every name a seed text may use; documented in ``seed_content/README.md``."""
    return {
        **(facts.variables(language) if facts is not None else {}),
        "company": runtime.company_name,
        "company_name": runtime.company_name,
        "launch_date": long_date(runtime.launch_date, language),
        "launch_date_iso": runtime.launch_date.isoformat(),
        "team_name": runtime.team_name,
        "support_channel": runtime.support_channel,
        "ideas_channel": runtime.ideas_channel,
        "committee_channel": runtime.committee_channel,
        "bot_username": runtime.bot_username,
        "mobile_app_ios_url": runtime.mobile_app_ios_url,
        "mobile_app_android_url": runtime.mobile_app_android_url,
        "desktop_app_url": runtime.desktop_app_url,
        "pilot_weeks": runtime.pilot_weeks,
        "pilot_percent": number(runtime.pilot_percent, language),
        "site_url": site_url.rstrip("/"),
        "language": language,
    }


def fact_literals(runtime: RuntimeSettings, facts: LaunchFacts | None) -> dict[str, str]:
    """The facts' values a text must not spell out, and the name to write instead."""
    literals = {runtime.company_name: "company"}
    if facts is not None:
        literals.update({facts.platform.fr: "platform", facts.platform.en: "platform"})
        for key, person in facts.people().items():
            literals[person.name] = f"{key}.name"
            literals[person.email] = f"{key}.email"
        literals[facts.launch_team.email] = "launch_team.email"
    return literals


class RenderFailed(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class Renderer:
    """Renders one language's texts; every failure becomes a ``Problem`` with a line."""

    def __init__(
        self, variables: Mapping[str, Any], literals: Mapping[str, str] | None = None
    ) -> None:
        self.variables = dict(variables)
        # Facts that must be written by name, never spelt out: value -> variable.
        self.literals = dict(literals or {})
        self._env = jinja2.Environment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # Markdown for Mattermost, not HTML
            keep_trailing_newline=False,
            finalize=mark_values,  # French elision before substituted values
        )

    def check(self, text: str, where: TextLocation) -> list[Problem]:
        """Syntax errors and unknown names, without rendering."""
        try:
            tree = self._env.parse(text)
            # Compiles the tree: an unknown filter or test (``{{ x | nofilter }}``) is only
            # found here, as a ``TemplateAssertionError`` (a kind of syntax error).
            declared = meta.find_undeclared_variables(tree)
        except jinja2.TemplateSyntaxError as error:
            return [
                where.problem(
                    error.lineno,
                    phrase("template.error", error=error.message),
                    phrase("template.syntax.do", braces="{{ … }}", blocks="{% … %}"),
                )
            ]
        unknown = declared - set(self.variables)
        problems = []
        for node in tree.find_all(nodes.Name):
            if node.ctx == "load" and node.name in unknown:
                problems.append(
                    where.problem(
                        node.lineno,
                        phrase("template.unknown_variable", name=node.name),
                        phrase(
                            "template.unknown_variable.do", names=", ".join(sorted(self.variables))
                        ),
                    )
                )
                unknown.discard(node.name)
        return problems + literal_fact_problems(text, where, self.literals)

    def render(self, text: str, where: TextLocation) -> str:
        """The rendered text, or ``RenderFailed`` naming the file and line."""
        problems = self.check(text, where)
        if problems:
            raise RenderFailed(problems[0])
        try:
            rendered = self._env.from_string(text).render(self.variables)
            return finish(rendered, str(self.variables.get("language", ""))).strip()
        except jinja2.UndefinedError as error:
            raise RenderFailed(
                where.problem(
                    1,
                    phrase("template.render_error", error=error.message),
                    phrase("template.undefined.do"),
                )
            ) from error
        except jinja2.TemplateError as error:
            raise RenderFailed(
                where.problem(
                    getattr(error, "lineno", 1) or 1,
                    phrase("template.render_error", error=str(error)),
                    phrase("template.fix.do"),
                )
            ) from error
