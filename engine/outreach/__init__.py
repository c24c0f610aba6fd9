"""Outreach: the programme's ``outreach`` triggers turned into a daily work list.

``run.run_outreach`` computes each trigger's tasks with one ``INSERT … SELECT`` (no Python loop
over members), stores them in ``outreach_tasks`` and renders their messages; ``tasks`` lists,
updates and exports them; ``webhook`` delivers them; ``templates.template_problems`` checks
the templates when a programme is validated. See rules/README.md, "Outreach".

``templates`` registers ``template_problems`` (and, by importing ``holidays``,
``holiday_problems``) with the validator (``engine.policy.extensions``) when imported; the
front doors import it, so ``engine.policy`` never imports outreach.
"""
