"""Downpour campaigns end to end: detect the points critical point, target tiers and groups in
SQL, freeze the assignment at launch, cap the budget atomically, export the targets and measure
the lift against the holdout (rules/README.md, "Downpour campaigns")."""
