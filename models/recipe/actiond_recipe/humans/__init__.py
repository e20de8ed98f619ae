"""Procedural people performing actions, rendered in UCF101's layout.

skeleton (joints, proportions, forward kinematics) → actions (joint-angle
trajectories) → camera (viewpoint, scale, shake) → draw (shaded limbs) → scene
(background photo, shadows, light, noise, blur) → write (H.264 clips, split lists).
"""
