"""Node acceptance: testinfra checks derived from the site config, run before tenants get a node.

``expectations`` derives what each pool's nodes must show, ``checks`` turns that into ordered,
named checks that read the node through testinfra's ``host``, ``runner`` runs them on many nodes in
parallel, ``results`` writes JSON or JUnit XML, ``labels`` prints the kubectl commands that keep
the scheduler away from failing nodes, and ``inventory`` writes and reads the Ansible inventory.
"""
