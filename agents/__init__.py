"""The learned DeepSoCS scheduler (PyTorch): everything torch lives in this package, never in ``soc_emu``.

Modules, from the engine outwards:

* :mod:`agents.features`   observation features from a system view (numpy);
* :mod:`agents.model`      the hierarchical graph network (torch) and :mod:`agents.inference` its numpy twin
  for fast single decisions;
* :mod:`agents.policy`     one decision (task, priority, PE) from a view; batching for learning;
* :mod:`agents.scheduler`  ``deepsocs``, the registry's scheduler (loads :mod:`agents.checkpoint`), found by the
  emulator through the entry point that :mod:`agents.plugin` describes (no torch until it is used);
* :mod:`agents.expert`     the ``srpt_eft`` heuristic's decisions as imitation labels;
* :mod:`agents.env`        a gymnasium environment over the same engine and decision loop as rollouts;
* :mod:`agents.rollout`    the decision loop, episodes, rewards (latency, optional energy), the rollout pool;
* :mod:`agents.training`   imitation (DAgger) then REINFORCE (``soc-emu train``);
* :mod:`agents.ppo`        PPO with GAE and a value head; :mod:`agents.finetune` ``soc-emu train --finetune``;
"""
