// A MujocoView from an mjModel/mjData, for C++ code compiled with MuJoCo's headers (the
// ctest tests, or a C++ program of your own). Names resolve as silri_jax.bridge's
// mujoco_view does for Python. Header-only: the bridge library itself needs no MuJoCo.
#pragma once

#include <mujoco/mujoco.h>

#include <stdexcept>
#include <string>

#include "cpp_bridge/mujoco_backend.hpp"

namespace cpp_bridge {

inline MujocoView mujoco_view_from_model(const mjModel* m, mjData* d,
                                         const MujocoConfig& cfg = {}) {
  static_assert(sizeof(mjtNum) == sizeof(double), "the bridge needs MuJoCo with double mjtNum");
  if (!m || !d) throw std::invalid_argument("mujoco backend: null model or data pointer");
  if (m->opt.integrator == mjINT_RK4)
    throw std::invalid_argument("mujoco backend: the RK4 integrator is not supported");
  MujocoView v;
  v.model = m;
  v.data = d;
  v.api.step1 = [](const void* mm, void* dd) {
    mj_step1(static_cast<const mjModel*>(mm), static_cast<mjData*>(dd));
  };
  v.api.step2 = [](const void* mm, void* dd) {
    mj_step2(static_cast<const mjModel*>(mm), static_cast<mjData*>(dd));
  };
  v.api.jac_site = [](const void* mm, const void* dd, double* jp, double* jr, int site) {
    mj_jacSite(static_cast<const mjModel*>(mm), static_cast<const mjData*>(dd), jp, jr, site);
  };
  v.nq = m->nq;
  v.nv = m->nv;
  v.nu = m->nu;
  v.nsite = m->nsite;
  v.qpos = d->qpos;
  v.qvel = d->qvel;
  v.qfrc_bias = d->qfrc_bias;
  v.qfrc_applied = d->qfrc_applied;
  v.ctrl = d->ctrl;
  v.site_xpos = d->site_xpos;
  v.site_xmat = d->site_xmat;
  v.time = &d->time;
  v.timestep = m->opt.timestep;
  for (const auto& j : cfg.joints) {
    const int id = mj_name2id(m, mjOBJ_JOINT, j.c_str());
    if (id < 0) throw std::invalid_argument("mujoco backend: no joint named '" + j + "'");
    if (m->jnt_type[id] != mjJNT_HINGE && m->jnt_type[id] != mjJNT_SLIDE)
      throw std::invalid_argument("mujoco backend: joint '" + j + "' must be hinge or slide");
    v.qpos_adr.push_back(m->jnt_qposadr[id]);
    v.dof_adr.push_back(m->jnt_dofadr[id]);
  }
  v.site = mj_name2id(m, mjOBJ_SITE, cfg.site.c_str());
  if (v.site < 0)
    throw std::invalid_argument("mujoco backend: no site named '" + cfg.site + "'");
  if (!cfg.gripper_actuator.empty()) {
    v.gripper = mj_name2id(m, mjOBJ_ACTUATOR, cfg.gripper_actuator.c_str());
    if (v.gripper >= 0) {
      v.gripper_lo = m->actuator_ctrlrange[2 * v.gripper];
      v.gripper_hi = m->actuator_ctrlrange[2 * v.gripper + 1];
    }
  }
  return v;
}

}  // namespace cpp_bridge
