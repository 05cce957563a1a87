"""The book's coursework: exercise checkers, the student edition and the class checker.

This package sits beside ``nnlib`` and is not part of it: ``nnlib`` is the
library the book builds, and imports nothing from here. The chapters' check
cells import their checkers from here::

    from coursework import check_neuron_forward
    check_neuron_forward(neuron_forward)

* ``coursework.registry``: every coding exercise, its label written once;
* ``coursework.ch01`` ... ``coursework.ch11``: the checkers, one module per chapter;
* ``coursework.protocol``: verdicts, and the plain data passed between checker and grader;
* ``coursework.guard``: what one call of an answer may not do;
* ``python -m coursework.student_edition``: the notebooks without solutions;
* ``python -m coursework.check_submissions``: grading a class's notebooks (sandboxed).
"""

from .protocol import FAIL, NOT_DONE, PASS, TAMPERED, Verdict
from .registry import EXERCISES, Exercise
from .ch01 import check_fit_neuron, check_gate_weights, check_neuron_forward, check_tanh_derivative
from .ch02 import check_count_parameters, check_deep_stack, check_dense_forward, check_he_init
from .ch03 import check_bce_grad, check_best_step, check_dense_backward, check_sigmoid_backward
from .ch04 import check_train_step, check_xor_settings
from .ch05 import check_accuracy_from_probs, check_train_moons
from .ch06 import check_save_load, check_save_small
from .ch07 import check_momentum_settings, check_momentum_step
from .ch08 import check_adam_settings, check_adam_step
from .ch09 import (check_confusion_matrix, check_cross_entropy_from_logits, check_small_digits,
                   check_stable_softmax)
from .ch10 import check_dropout_forward, check_l2_penalty_and_grad, check_small_model
from .ch11 import check_layer_gradient_norms, check_scaling_recipe, check_standardize

__all__ = [
    "EXERCISES", "Exercise", "FAIL", "NOT_DONE", "PASS", "TAMPERED", "Verdict",
    "check_accuracy_from_probs", "check_adam_step", "check_bce_grad", "check_confusion_matrix",
    "check_count_parameters", "check_cross_entropy_from_logits", "check_dense_backward", "check_dense_forward",
    "check_dropout_forward", "check_l2_penalty_and_grad", "check_small_model",
    "check_gate_weights", "check_he_init", "check_layer_gradient_norms", "check_momentum_step", "check_neuron_forward", "check_save_load",
    "check_scaling_recipe", "check_sigmoid_backward", "check_stable_softmax", "check_standardize", "check_tanh_derivative", "check_train_step",
    "check_best_step", "check_deep_stack", "check_fit_neuron", "check_train_moons", "check_xor_settings",
    "check_adam_settings", "check_momentum_settings", "check_save_small", "check_small_digits",
]
