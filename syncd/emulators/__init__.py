"""Real HTTP servers that speak the Planfix and PlanningPME protocols, for tests, demos and benchmarks."""
