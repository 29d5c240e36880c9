"""Helm charts rendered by real Helm (Helm v4's Go SDK through ``helm_python``): what each release creates.

``source`` finds each release's chart in a folder of pulled charts; ``capabilities`` says what the
site's API server offers (Kubernetes version, API versions); ``render`` renders every release of a
plan with the values the plan recorded (the one chart that is not vendored, EXAScaler's, is listed as
not rendered; the ``exascaler-values-read`` contract checks its values); ``provenance`` names the
site-config field behind each release's values.
"""
