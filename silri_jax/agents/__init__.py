"""Agents: SiLRI, HIL-SERL's SAC, HG-DAgger and BC behind one interface.

agent = make_agent(get_config("silri"), spec)
state = agent.init(jax.random.PRNGKey(0))
state, metrics = agent.update(state, batch)   # one UTD group, one compiled call
"""

from silri_jax.agents import hgdagger, sac, silri  # noqa: F401  (registers the agents)
from silri_jax.agents.base import AGENTS, Agent, AgentState, make_agent
from silri_jax.agents.config import get_config

__all__ = ["AGENTS", "Agent", "AgentState", "get_config", "make_agent"]
