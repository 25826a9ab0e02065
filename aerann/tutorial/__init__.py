"""The classic Theano RNN tutorial on aerann: RNNTheano, its SGD loop, text generation, gradient checks.

RNNNumpy, the tutorial's NumPy model, is in :mod:`aerann.reference.rnn_numpy`
with the other NumPy references.
"""

from aerann.tutorial.rnn_theano import (
    RNNTheano,
    gradient_check_theano,
    load_model_parameters_theano,
    save_model_parameters_theano,
)

__all__ = ["RNNTheano", "gradient_check_theano", "load_model_parameters_theano", "save_model_parameters_theano"]
