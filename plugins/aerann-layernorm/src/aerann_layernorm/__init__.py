"""aerann-layernorm: the layer-normalised LSTM and GRU as aerann units, with their NumPy references.

``ln_lstm`` and ``ln_gru`` (:mod:`aerann_layernorm.units`) register through
aerann's unit hook; their hand-differentiated NumPy steps
(:mod:`aerann_layernorm.reference`) through its reference hook, which
aerann's test harness checks the units against.
"""

import aerann
from aerann_layernorm.reference import LayerNormGRUReference, LayerNormLSTMReference
from aerann_layernorm.units import LayerNormGRU, LayerNormLSTM

__all__ = ["LayerNormGRU", "LayerNormGRUReference", "LayerNormLSTM", "LayerNormLSTMReference"]


@aerann.hookimpl
def aerann_register_units():
    return [LayerNormLSTM, LayerNormGRU]


@aerann.hookimpl
def aerann_register_references():
    return {"ln_lstm": LayerNormLSTMReference, "ln_gru": LayerNormGRUReference}
