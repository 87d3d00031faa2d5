"""Crisis drills: a playbook rehearsed against a simulated public that reacts, scored the same way
every time. Scenarios (`drills/*.yaml`), the public, policies, the score, the live driver, the report.
"""
