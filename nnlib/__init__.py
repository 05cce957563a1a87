"""nnlib: the small neural-network library built, chapter by chapter, in the book.

Samples are rows: ``X`` has shape ``(n_samples, n_features)``.
"""

from .activations import ReLU, Sigmoid, Softmax, Tanh, relu, sigmoid, softmax, tanh
from .display import show_source
from .gradcheck import gradient_check, numerical_gradient, relative_error
from .initializers import INITIALIZERS, get_initializer
from .layers import Activation, Dense, Dropout, Layer
from .losses import MSE, BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from .metrics import accuracy, confusion_matrix, to_classes
from .model import History, Model, TrainingDivergedError, load_model, save_model
from .optimizers import SGD, Adam, Optimizer
from .persistence import ModelFileError
from .plotting import plot_decision_boundary, plot_history

__version__ = "0.1.0"

__all__ = [
    "Activation", "Adam", "BinaryCrossEntropy", "Dense", "Dropout", "History", "INITIALIZERS", "Layer", "Loss",
    "MSE", "Model", "ModelFileError", "Optimizer", "ReLU", "SGD", "Sigmoid", "Softmax", "SoftmaxCrossEntropy", "Tanh", "TrainingDivergedError", "__version__",
    "accuracy", "confusion_matrix", "get_initializer", "gradient_check", "load_model", "numerical_gradient",
    "plot_decision_boundary", "plot_history", "relative_error", "relu", "save_model", "show_source", "sigmoid",
    "softmax", "tanh", "to_classes",
]
