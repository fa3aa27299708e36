"""syncd keeps Planfix and PlanningPME in step, both ways."""

__version__ = "0.1.0"
