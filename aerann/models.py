"""Models on the scan driver: LanguageModel, SequenceTagger, SequenceClassifier.

Every model is a stack of registered recurrent units (any mix, in any order)
between an input (token embedding or real-valued features) and a softmax
output layer.  Data is given as Python lists of variable-length sequences;
``fit`` groups them into minibatches of similar length, pads them and passes
masks, so a padded step never changes the loss or the gradients.  Training
minimises the summed cross-entropy of each minibatch (plus ``reg`` times the
squared weights), so a minibatch's gradient is the sum of its sequences'
gradients.

Layer specs: ``("gru", 64)``, ``("elman", 64, {"activation": "relu"})`` or a
dict with a direction and dropout rates of its own (:func:`aerann.stack.parse_layers`).
"""

from typing import NamedTuple

import aesara
import aesara.tensor as at
import numpy as np
from aesara.tensor.special import log_softmax

import aerann
from aerann import graph, units
from aerann.backend import compiler, parameters
from aerann.backend.devices import check as device_count
from aerann.backend.output_loss import output_cross_entropy
from aerann.data import batching, files, word_vectors
from aerann.data.validation import as_index_sequence, check_dataset, dropout_rate, finite_float, positive_int
from aerann.stack import flat_states, nested_states, parse_layers, RecurrentStack
from aerann.training import engine, optim
from aerann.training import settings as training_settings

DEFAULT_BUCKETS = batching.DEFAULT_BUCKETS
EVALUATION_BATCH = 64  # sequences per batch in loss and predict


class RecurrentModel:
    """The machinery shared by every model: units, parameters, compiled functions, training."""

    def __init__(self, n_in, n_classes, layers, truncate_gradient=-1, grad_clip=None, seed=0, frozen=(),
                 dropout=0.0, recurrent_dropout=0.0):
        self.n_in = positive_int(n_in, "n_in")
        self.n_classes = positive_int(n_classes, "n_classes")
        self.layers = parse_layers(layers)
        self.truncate_gradient = graph.check_truncate_gradient(truncate_gradient)
        self.grad_clip = graph.check_grad_clip(grad_clip)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        self.seed = int(seed)
        rng = np.random.default_rng(seed)
        self.params = {}
        self._add_input_params(rng)
        self.dropout = dropout_rate(dropout, "dropout")
        self.recurrent_dropout = dropout_rate(recurrent_dropout, "recurrent_dropout")
        # Dropout acts on an embedding's output and between layers, not on real-valued features.
        embeds = "embedding" in self.params
        input_dropout = [0.0 if i == 0 and not embeds else self.dropout for i in range(len(self.layers))]
        self.stack = RecurrentStack(self._input_size(), self.layers, rng, self.truncate_gradient, self.grad_clip,
                                    input_dropout, recurrent_dropout)
        self.units = self.stack.units
        self.params.update(self.stack.params)
        self._add_output_params(rng, self.stack.n_out)
        self._functions = {}
        self.optimizer_states = {}
        self.frozen = set()
        self.freeze(frozen)

    # -- pieces each model defines ------------------------------------------------
    def _add_input_params(self, rng):
        """Create the parameters of the input layer, if any."""

    def _input_size(self) -> int:
        return self.n_in

    def _add_output_params(self, rng, n_top):
        """Create the output layer's parameters: ``output.W`` (n_top, n_classes) and ``output.b``."""
        limit = np.sqrt(6.0 / (n_top + self.n_classes))
        self._param("output.W", rng.uniform(-limit, limit, (n_top, self.n_classes)))
        self._param("output.b", np.zeros(self.n_classes))

    def output_weights(self):
        """The output layer's weight matrix (n_top, n_classes), symbolic."""
        return self.params["output.W"]

    def freeze(self, names) -> None:
        """Leave the parameters ``names`` as they are in training (each optimizer step updates the others).

        A training step compiled before is compiled again for the new set.
        """
        if isinstance(names, str) or not all(isinstance(name, str) for name in names):
            raise TypeError(f"frozen must be a list of parameter names, got {names!r}")
        unknown = sorted(set(names) - set(self.params))
        if unknown:
            raise ValueError(f"frozen: the model has no parameter {', '.join(unknown)} "
                             f"(it has {', '.join(self.params)})")
        if set(names) == set(self.params):
            raise ValueError("frozen: every parameter would be frozen, leaving nothing to train")
        self.frozen |= set(names)

    def _symbolic_inputs(self):
        """Symbolic (X, Y) of one minibatch."""
        raise NotImplementedError

    def _layer_input(self, X):
        return X

    def check_data(self, X, Y):
        """Validated lists of inputs and targets."""
        raise NotImplementedError

    def _batch(self, X, Y, indices):
        """Padded arrays (X, Y, mask) of the items ``indices``."""
        raise NotImplementedError

    # -- the graph -------------------------------------------------------------
    def _param(self, name, value):
        self.params[name] = parameters.shared(np.asarray(value).astype(aesara.config.floatX), name=name)

    def symbolic_stack(self, X, mask, initial=None, dropout_masks=None) -> graph.StackStates:
        """The stack over symbolic inputs: the top layer's states (T, B, n_top) and every layer's final states.

        ``initial`` is None (the units' learnable initial states) or, for
        every layer, one symbolic (B, n_out) state per name in its unit's
        ``states`` (what :meth:`symbolic_states` makes); ``dropout_masks``
        None or what ``stack.symbolic_dropout_masks()`` makes.
        """
        return self.stack.symbolic(self._layer_input(X), mask, initial, dropout_masks)

    def dropout_masks(self, rng, steps, batch) -> list:
        """New dropout masks for one training step on a (steps, batch) minibatch, drawn from ``rng``: the
        training step's last inputs; none without dropout (:meth:`RecurrentStack.dropout_masks`)."""
        return self.stack.dropout_masks(rng, steps, batch)

    def symbolic_top(self, X, mask):
        """The top layer's states (T, B, n_top) for symbolic inputs."""
        return self.symbolic_stack(X, mask).output

    def symbolic_step(self, x_t, states):
        """One step of every layer, outside any scan: log-probabilities (B, n_classes) of the classes at
        this step, from the inputs ``x_t`` of one step and every layer's ``states``, and the new states."""
        new = self.stack.symbolic_step(self._layer_input(x_t), states)
        return log_softmax(self.output_layer(new[-1][0]), axis=-1), new

    def symbolic_states(self):
        """Symbolic matrices for every layer's states, shaped as :meth:`initial_states` returns them."""
        return self.stack.symbolic_states()

    def output_layer(self, rows):
        """Class scores of ``rows`` (N, n_top) of top-layer states: (N, n_classes).

        The bias rides in the matrix product (a column of ones times a row b),
        so its gradient comes out of the same GEMM instead of a separate
        (N, n_classes) column sum.
        """
        return self._with_ones(rows).dot(self._weights_and_bias())

    def _with_ones(self, rows):
        return at.concatenate([rows, at.ones((rows.shape[0], 1), dtype=rows.dtype)], axis=1)

    def _weights_and_bias(self):
        return at.concatenate([self.output_weights(), self.params["output.b"].dimshuffle("x", 0)], axis=0)

    def output_loss(self, rows, targets, weights):
        """sum_n weights[n] * cross-entropy of the output layer's softmax at ``rows`` (N, n_top) against
        ``targets`` (N,): the output layer, its loss and their gradients in one pass over the logits
        (:mod:`aerann.backend.output_loss`)."""
        return output_cross_entropy(self._with_ones(rows), self._weights_and_bias(), targets, weights)

    def symbolic_logits(self, X, mask):
        """Class scores of every step, flattened time-major: (T * B, n_classes)."""
        return self.logits_of(self.symbolic_top(X, mask))

    def logits_of(self, top):
        """Class scores of every step from the top layer's states ``top`` (T, B, n_top): (T * B, n_classes)."""
        T, B, n_top = top.shape
        return self.output_layer(top.reshape((T * B, n_top)))

    def symbolic_log_probabilities(self, X, mask):
        """Log-probabilities of the classes at every step: (T, B, n_classes)."""
        return self.log_probabilities_of(self.symbolic_top(X, mask), X)

    def log_probabilities_of(self, top, X):
        """The output layer's log-probabilities from the top layer's states ``top`` (T, B, n_top)."""
        logits = self.logits_of(top)
        # Sizes from the graph, not from self: the parameters may be swapped for others (givens).
        return log_softmax(logits, axis=-1).reshape((X.shape[0], X.shape[1], logits.shape[1]))

    def symbolic_loss(self, X, Y, mask):
        """Summed cross-entropy of the real (mask = 1) steps."""
        return self.loss_of(self.symbolic_top(X, mask), X, Y, mask)

    def loss_of(self, top, X, Y, mask):
        """:meth:`symbolic_loss` from the top layer's states ``top`` (T, B, n_top)."""
        T, B, n_top = top.shape
        return self.output_loss(top.reshape((T * B, n_top)), Y.flatten(), mask.flatten())

    def _mask(self):
        return at.matrix("mask", dtype=aesara.config.floatX)

    def compiled(self, name):
        """The compiled function ``name``: "loss", "predict", "run", and a LanguageModel's "step" and
        "stream loss"."""
        if name not in ("loss", "predict", "step", "run", "stream loss"):
            raise ValueError(f"no compiled function {name!r}")
        if name in ("step", "stream loss") and not isinstance(self, LanguageModel):
            raise ValueError(f"only a LanguageModel has the {name!r} function, not a {type(self).__name__}")
        return self._function(name)

    def _function(self, key):
        """Compiled function ``key`` ("loss", "predict", "step", "stream loss", "run" or a training key), built once."""
        if key in self._functions:
            return self._functions[key]
        X, Y = self._symbolic_inputs()
        mask = self._mask()
        if key == "loss":
            fn = compiler.function([X, Y, mask], self.symbolic_loss(X, Y, mask))
        elif key == "predict":
            fn = compiler.function([X, mask], at.exp(self.symbolic_log_probabilities(X, mask)))
        elif key == "step":
            x_t = self._symbolic_step_input()
            states = self.symbolic_states()
            log_probabilities, new = self.symbolic_step(x_t, states)
            fn = compiler.function([x_t, *flat_states(states)], [at.exp(log_probabilities), *flat_states(new)])
        elif key == "stream loss":
            initial = self.symbolic_states()
            run = self.symbolic_stack(X, mask, initial)
            fn = compiler.function([X, Y, mask, *flat_states(initial)],
                                  [self.loss_of(run.output, X, Y, mask), *flat_states(run.final)])
        elif key == "run":
            initial = self.symbolic_states()
            run = self.symbolic_stack(X, mask, initial)
            fn = compiler.function([X, mask, *flat_states(initial)],
                                  [at.exp(self.log_probabilities_of(run.output, X)), *flat_states(run.final)])
        else:
            fn = self._training_function(key, X, Y, mask)
        self._functions[key] = fn
        return fn

    def _training_function(self, key, X, Y, mask):
        """The training step of ``key``, (optimizer, options, reg, clip), or ("stream", ...) for :meth:`stream_step`."""
        stream = key[0] == "stream"
        optimizer, options, reg, clip, frozen = key[1:] if stream else key
        initial = self.symbolic_states() if stream else None
        masks = self.stack.symbolic_dropout_masks()
        run = self.symbolic_stack(X, mask, initial, masks)
        loss = self.loss_of(run.output, X, Y, mask)
        params = [shared for name, shared in self.params.items() if name not in frozen]
        # A stream step's initial states are inputs, so the learnable ones get no gradient there.
        grads = aesara.grad(loss + optim.l2_penalty(params, reg), params,
                            disconnected_inputs="ignore" if stream else "raise")
        if clip:
            grads = optim.clip_by_norm(grads, clip)
        learning_rate = at.scalar("learning_rate", dtype=aesara.config.floatX)
        updates, state = optim.build(optimizer, params, grads, learning_rate, **dict(options))
        self.optimizer_states[key] = state
        if stream:
            return compiler.function([X, Y, mask, learning_rate, *flat_states(initial), *masks],
                                     [loss, *flat_states(run.final)], updates=updates, allow_input_downcast=True)
        return compiler.function([X, Y, mask, learning_rate, *masks], loss, updates=updates,
                                 allow_input_downcast=True)

    def stream_step(self, optimizer="sgd", reg=0.0, clip=None, **options):
        """:meth:`train_step` that also starts from given states and returns the final ones:
        ``f(X, Y, mask, learning_rate, *initial, *dropout_masks) -> [loss, *final]``, the states listed
        layer after layer.  The gradient stops at the initial states: they are inputs, not parameters."""
        return self._function(("stream", *self.train_key(optimizer, options, reg, clip)))

    def train_step(self, optimizer="sgd", reg=0.0, clip=None, **options):
        """The compiled step ``f(X, Y, mask, learning_rate) -> loss`` that updates the parameters.

        X, Y and mask are one padded, time-major minibatch (what ``batch``
        returns); the loss is its summed cross-entropy and the update follows
        ``optimizer`` (see :mod:`aerann.training.optim`; ``options`` such as ``mu``
        go to it), with L2 weight ``reg`` and global norm clipping ``clip``.
        Compiled once per combination; the optimizer's state (velocities,
        caches) is then in ``optimizer_states[key]``.  A model with dropout
        takes the step's dropout masks last: ``f(X, Y, mask, learning_rate,
        *model.dropout_masks(rng, *X.shape))``.
        """
        return self._function(self.train_key(optimizer, options, reg, clip))

    def train_key(self, optimizer, options, reg, clip):
        """The key of the training step :meth:`train_step` compiles for these settings (and the frozen
        parameters), under which ``optimizer_states`` holds its optimizer's state."""
        options = dict(options)
        optim.get(optimizer).check_options(options)
        options = tuple(sorted((name, float(value)) for name, value in options.items()))
        return (optimizer, options, float(reg), None if clip is None else float(clip), tuple(sorted(self.frozen)))

    def batch(self, X, Y, indices, columns=None):
        """Padded time-major arrays (X, Y, mask) of the items ``indices`` of validated lists X, Y.

        ``columns`` (at least ``len(indices)``) widens the batch with
        all-padding sequences (mask 0, so they change neither loss nor
        gradients): on the JAX backend every batch of a length bucket then has
        one shape, and XLA compiles one program per bucket instead of one per
        batch size.
        """
        indices = list(indices)
        extra = 0 if columns is None else columns - len(indices)
        if extra < 0:
            raise ValueError(f"columns ({columns}) must be at least the number of items ({len(indices)})")
        Xb, Yb, mask = self._batch(X, Y, indices + indices[:1] * extra)
        mask[:, len(indices) :] = 0
        return Xb, Yb, mask

    def batch_columns(self, batch_size):
        """The width of every batch: fixed on the JAX backend (static shapes), natural on C."""
        return batch_size if compiler.get_backend() == "jax" else None

    # -- training and evaluation -------------------------------------------------
    def fit(
        self,
        X,
        Y,
        epochs=10,
        learning_rate=0.01,
        mu=0.0,
        reg=0.0,
        batch_size=1,
        optimizer=None,
        clip=None,
        seed=0,
        verbose=False,
        *,
        options=None,
        schedule="none",
        schedule_options=None,
        validation=None,
        patience=None,
        restore_best=False,
        progress=False,
        devices=None,
    ):
        """Train on lists of sequences; returns an :class:`aerann.training.engine.History`: the mean training
        loss per target of every epoch (a list), with the validation losses and learning rates.

        SGD, with momentum when ``mu`` > 0 (the book's), or ``optimizer``
        (any of :data:`aerann.training.optim.OPTIMIZERS`) with its ``options``;
        ``reg`` is the L2 weight, ``clip`` a maximum global gradient norm.
        ``validation`` is a pair (X, Y) scored after every epoch;
        ``patience`` stops training after that many epochs without a lower
        validation loss, and ``restore_best`` ends with the parameters of the
        best epoch.  ``schedule`` (one of :data:`aerann.training.schedules.SCHEDULES`,
        with ``schedule_options``) sets each epoch's learning rate.  A step
        with a non-finite loss is undone and the learning rate halved
        (:mod:`aerann.training.engine`).  ``progress`` shows a progress bar.
        ``devices`` (on the JAX backend: a count, or "all") splits every
        minibatch over that many devices (:mod:`aerann.backend.devices`).
        """
        X, Y = self.check_data(X, Y)
        epochs = positive_int(epochs, "epochs")
        batch_size = positive_int(batch_size, "batch_size")
        settings = _settings(learning_rate, mu, optimizer, options, reg, clip, schedule, schedule_options, patience)
        devices = device_count(devices)
        validate = None
        if validation is not None:
            held_out = self.check_data(*_pair(validation))
            validate = lambda: self.loss(*held_out)  # noqa: E731
        trainer = engine.Trainer(self, engine.SequenceBatches(self, X, Y, batch_size, devices), settings, epochs,
                                 validation=validate, seed=seed, verbose=verbose, progress=progress,
                                 restore_best=restore_best)
        return trainer.run()

    def count_targets(self, mask) -> int:
        return int(mask.sum())

    def loss(self, X, Y):
        """Mean cross-entropy per target on (X, Y)."""
        X, Y = self.check_data(X, Y)
        fn = self._function("loss")
        total, count = 0.0, 0
        for indices in batching.minibatches(len(X), [len(x) for x in X], EVALUATION_BATCH, None, DEFAULT_BUCKETS):
            Xb, Yb, mask = self.batch(X, Y, indices, self.batch_columns(EVALUATION_BATCH))
            total += float(fn(Xb, Yb, mask))
            count += self.count_targets(mask)
        return total / count

    def predict_proba(self, X):
        """Class probabilities of every real step: a list of (T_i, n_classes) arrays."""
        X, _ = self.check_data(X, None)
        fn = self._function("predict")
        result = [None] * len(X)
        for indices in batching.minibatches(len(X), [len(x) for x in X], EVALUATION_BATCH, None, DEFAULT_BUCKETS):
            Xb, _, mask = self.batch(X, None, indices, self.batch_columns(EVALUATION_BATCH))
            probabilities = fn(Xb, mask)
            for b, i in enumerate(indices):
                result[i] = probabilities[: len(X[i]), b]
        return result

    # -- states -------------------------------------------------------------------
    def initial_states(self, count=1):
        """The learnable initial states for ``count`` sequences: for every layer, one (count, n_out)
        array per name in its unit's ``states`` (``h``; an LSTM's ``h`` and ``c``)."""
        return self.stack.initial_states(count)

    def check_states(self, states, count, name="initial states"):
        """``states`` as :meth:`initial_states` gives them for ``count`` sequences (copies in floatX), or a
        ValueError naming the layer and state that do not fit."""
        return self.stack.check_states(states, count, name)

    def run(self, X, initial=None):
        """``predict_proba(X)`` from given initial states, and every layer's final states.

        ``initial`` is None (the learnable initial states) or, as
        :meth:`initial_states` gives them, one (N, n_out) array per layer and
        state for the N sequences of X.  Returns ``(probabilities, final)``,
        ``final`` shaped like ``initial``: each sequence's states after its
        last step, from which a later call can carry on.
        """
        X, _ = self.check_data(X, None)
        initial = self.initial_states(len(X)) if initial is None else self.check_states(initial, len(X))
        fn = self._function("run")
        probabilities = [None] * len(X)
        final = [[np.zeros_like(state) for state in layer] for layer in initial]
        for indices in batching.minibatches(len(X), [len(x) for x in X], EVALUATION_BATCH, None, DEFAULT_BUCKETS):
            Xb, _, mask = self.batch(X, None, indices, self.batch_columns(EVALUATION_BATCH))
            columns = indices + indices[:1] * (Xb.shape[1] - len(indices))
            batch_probabilities, *batch_final = fn(Xb, mask, *[state[columns] for state in flat_states(initial)])
            for b, i in enumerate(indices):
                probabilities[i] = self._item_probabilities(batch_probabilities, b, len(X[i]))
            for state, batch_state in zip(flat_states(final), batch_final):
                state[indices] = batch_state[: len(indices)]
        return self._gathered(probabilities), final

    def _item_probabilities(self, probabilities, b, length):
        """Sequence ``b``'s part of a batch's probabilities."""
        return probabilities[:length, b]

    def _gathered(self, probabilities):
        return probabilities

    # -- files --------------------------------------------------------------------
    def config(self) -> dict:
        """Constructor arguments that rebuild this model."""
        return {
            "layers": [
                spec._replace(kwargs={**unit.config(), **spec.kwargs}).as_config()
                for spec, (unit, *_) in zip(self.layers, self.stack.layer_units)
            ],
            "truncate_gradient": self.truncate_gradient,
            "grad_clip": self.grad_clip,
            "seed": self.seed,
            **({"frozen": sorted(self.frozen)} if self.frozen else {}),
            **({"dropout": self.dropout} if self.dropout else {}),
            **({"recurrent_dropout": self.recurrent_dropout} if self.recurrent_dropout else {}),
        }

    def parameter_values(self) -> dict:
        """Every parameter's value: name -> array (copies)."""
        return {name: p.get_value() for name, p in self.params.items()}

    def set_parameter_values(self, values: dict, where="the values") -> None:
        """Set every parameter from ``values`` (as :meth:`parameter_values` gives them); a ValueError naming
        ``where`` when the names or shapes do not match, before anything is set."""
        if set(values) != set(self.params):
            raise ValueError(f"{where}: parameters {sorted(set(values) ^ set(self.params))} do not match the model")
        for name, shared in self.params.items():
            expected = shared.get_value(borrow=True).shape
            if values[name].shape != expected:
                raise ValueError(f"{where}: {name} has shape {values[name].shape}, the model needs {expected}")
        for name, shared in self.params.items():
            shared.set_value(np.asarray(values[name], dtype=shared.dtype))

    def optimizer_state(self, key) -> dict:
        """The optimizer state of the compiled train step ``key``: name -> array (copies)."""
        return {shared.name: shared.get_value() for shared in self._optimizer_variables(key)}

    def set_optimizer_state(self, key, values: dict) -> None:
        """Restore an :meth:`optimizer_state`; names, shapes and dtypes must match."""
        variables = {shared.name: shared for shared in self._optimizer_variables(key)}
        if set(values) != set(variables):
            raise ValueError(f"optimizer state {sorted(values)} does not match {sorted(variables)}")
        for name, shared in variables.items():
            value = np.asarray(values[name])
            expected = shared.get_value(borrow=True)
            if value.shape != expected.shape or value.dtype.kind != "f":
                raise ValueError(f"optimizer state {name}: got {value.dtype} {value.shape}, expected {expected.shape}")
            shared.set_value(value.astype(expected.dtype))

    def _optimizer_variables(self, key):
        if key not in self.optimizer_states:
            raise KeyError(f"no train step {key!r} has been compiled (call train_step first)")
        return self.optimizer_states[key]

    def save(self, path, metadata=None):
        """Write parameters and configuration to an npz + JSON model file (atomically).

        ``metadata`` (a JSON-serialisable dict, e.g. the vocabulary) is stored
        with the file's own and read back by :func:`aerann.data.files.load_arrays`.
        """
        extra = dict(metadata or {})
        metadata = {
            **extra,
            "class": type(self).__name__,
            "config": self.config(),
            "units": [
                {"name": u.name, "source": units.sources().get(u.name, "unknown"), "n_in": u.n_in, "n_out": u.n_out}
                for u in self.units
            ],
            "aerann_version": aerann.__version__,
        }
        return files.save_arrays(path, self.parameter_values(), metadata)

    @classmethod
    def _from_metadata(cls, path, metadata):
        """The model (fresh parameters) that a file's metadata describes; a ValueError naming what is wrong."""
        classes = {c.__name__: c for c in (LanguageModel, SequenceTagger, SequenceClassifier)}
        name = metadata.get("class")
        if name not in classes or not issubclass(classes[name], cls):
            raise ValueError(f"{path} holds a {name!r}, not a {cls.__name__}")
        config = metadata.get("config")
        if not isinstance(config, dict):
            raise ValueError(f"{path} has no model configuration")
        _check_units_available(path, config.get("layers"), metadata.get("units"))
        try:
            return classes[name](**config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path} has an invalid model configuration: {error}") from None

    @classmethod
    def load(cls, path):
        """Rebuild a model from a model file (:meth:`save`) or a training run's checkpoint (its
        parameters); validates names, shapes and dtypes from the arrays' headers, before their data is
        read."""
        built, prefix = [], []

        def check(metadata, headers):
            if metadata.get("kind") == "aerann-checkpoint":  # the parameters are the "param/" arrays
                from aerann.training.run import check_checkpoint_metadata

                check_checkpoint_metadata(path, metadata)
                prefix.append("param/")
                headers = {k[len("param/"):]: v for k, v in headers.items() if k.startswith("param/")}
            model = cls._from_metadata(path, metadata)
            if set(headers) != set(model.params):
                raise ValueError(f"{path}: parameters {sorted(set(headers) ^ set(model.params))} do not match the model")
            for param_name, shared in model.params.items():
                shape, dtype = headers[param_name]
                expected = shared.get_value(borrow=True).shape
                if shape != expected or dtype.kind != "f":
                    raise ValueError(f"{path}: {param_name} is {dtype} {shape}, expected float {expected}")
            built.append(model)

        arrays, _ = files.load_arrays(path, check)
        model = built[0]
        for param_name, shared in model.params.items():
            array = arrays["".join(prefix) + param_name]
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{path}: {param_name} holds NaN or infinite values")
            shared.set_value(array.astype(shared.dtype))
        return model


class LanguageModel(RecurrentModel):
    """Word embedding, a stack of recurrent units, softmax over the vocabulary at every step.

    ``fit(X, Y)`` takes lists of token-index arrays with Y shifted by one
    (:func:`aerann.data.text.training_data`).  ``score`` is the per-token
    cross-entropy in nats (``perplexity`` its exponential).
    """

    def __init__(self, vocab_size, embedding_dim, layers=(("gru", 64), ("lstm", 32)), tie_embeddings=False,
                 **kwargs):
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        if not isinstance(tie_embeddings, bool):
            raise TypeError(f"tie_embeddings must be True or False, got {tie_embeddings!r}")
        for i, spec in enumerate(parse_layers(layers)):
            if spec.bidirectional:
                raise ValueError(f"layer {i} is bidirectional, which a language model cannot have: its backward "
                                 "half would see the words it is to predict")
        self.tie_embeddings = tie_embeddings
        super().__init__(embedding_dim, vocab_size, layers, **kwargs)

    def _add_input_params(self, rng):
        limit = np.sqrt(6.0 / (self.vocab_size + self.embedding_dim))
        self._param("embedding", rng.uniform(-limit, limit, (self.vocab_size, self.embedding_dim)))

    def _add_output_params(self, rng, n_top):
        if not self.tie_embeddings:
            return super()._add_output_params(rng, n_top)
        if n_top != self.embedding_dim:
            raise ValueError(f"tie_embeddings needs the top layer's size ({n_top}) to equal embedding_dim "
                             f"({self.embedding_dim}): the output weights would be the embedding's transpose")
        self._param("output.b", np.zeros(self.n_classes))

    def output_weights(self):
        """The output weights; with ``tie_embeddings`` the embedding's transpose (Press and Wolf, 2017),
        so that a word's input vector is also the direction that predicts it."""
        return self.params["embedding"].T if self.tie_embeddings else super().output_weights()

    def load_embeddings(self, path, vocab, freeze=False):
        """Fill the embedding rows of ``vocab``'s words from a word2vec or GloVe text file.

        Words the file lacks keep their values.  The vectors must have
        ``embedding_dim`` numbers; the file is read and checked whole before
        any row changes (:func:`aerann.data.word_vectors.read_word_vectors`).
        ``freeze=True`` leaves the embedding out of training.  Returns a
        :class:`LoadedEmbeddings` (``found``, ``vocabulary``, ``file_words``),
        whose text says how many words were found.
        """
        words = list(vocab.index_to_word)
        if len(words) != self.vocab_size:
            raise ValueError(f"the vocabulary has {len(words)} words, the model's embedding {self.vocab_size} rows")
        if not isinstance(freeze, bool):
            raise TypeError(f"freeze must be True or False, got {freeze!r}")
        loaded = word_vectors.read_word_vectors(path, words)
        if loaded.dimension != self.embedding_dim:
            raise ValueError(f"{path} holds vectors of {loaded.dimension} numbers, the model's embedding has "
                             f"{self.embedding_dim}")
        embedding = self.params["embedding"].get_value()
        for index, word in enumerate(words):
            if word in loaded.vectors:
                embedding[index] = loaded.vectors[word]
        self.params["embedding"].set_value(embedding)
        if freeze:
            self.freeze(["embedding"])
        return LoadedEmbeddings(len(loaded.vectors), len(words), loaded.file_words, str(path))

    def _symbolic_inputs(self):
        return at.imatrix("X"), at.imatrix("Y")

    def _layer_input(self, X):
        return self.params["embedding"][X]

    def check_data(self, X, Y):
        if Y is None:
            return [as_index_sequence(x, self.vocab_size, f"X[{i}]") for i, x in enumerate(_nonempty(X, "X"))], None
        return check_dataset(X, Y, self.vocab_size)

    def _batch(self, X, Y, indices):
        Xb, mask = batching.pad([X[i] for i in indices], bucket(X, indices), np.int32)
        Yb = None if Y is None else batching.pad([Y[i] for i in indices], len(mask), np.int32)[0]
        return Xb, Yb, mask.astype(aesara.config.floatX)

    def _symbolic_step_input(self):
        return at.ivector("tokens")

    def step(self, tokens, states=None):
        """Feed one token to each of B sequences: the next-token probabilities (B, vocab_size) and the new states.

        ``states`` is None (the learnable initial states) or what an earlier
        call, :meth:`run` or :meth:`initial_states` returned for the same B
        sequences.  A call is one compiled step of every layer, not a scan
        over what came before, so sampling n tokens costs n steps.
        """
        tokens = as_index_sequence(tokens, self.vocab_size, "tokens")
        if states is None:
            states = self.initial_states(len(tokens))
        else:
            states = self.check_states(states, len(tokens), "states")
        probabilities, *new = self._function("step")(tokens, *flat_states(states))
        return probabilities, nested_states(new, self.units)

    def fit_stream(self, tokens, bptt=35, batch_size=20, epochs=1, learning_rate=0.01, mu=0.0, reg=0.0,
                   optimizer=None, clip=None, validation=None, verbose=False, *, options=None, schedule="none",
                   schedule_options=None, patience=None, restore_best=False, progress=False, devices=None):
        """Train on one long token stream with the states carried from chunk to chunk; returns, per
        epoch, ``{"loss": ..., "validation_perplexity": ...}`` (the latter when ``validation`` is given).

        The stream (a sequence of token indices, e.g. a whole text) is cut
        into ``batch_size`` columns, each a consecutive piece of it
        (:func:`aerann.data.batching.stream_columns`), and trained in chunks of
        ``bptt`` steps down the columns, in order.  Each chunk starts from
        the previous chunk's final states, so a column's state follows its
        text from the first chunk to the last, while the gradient stops at
        the chunk's first step (truncated BPTT over ``bptt`` steps, as in
        Zaremba et al. 2014).  Each epoch starts again from the values of the
        learnable initial states (which stream training leaves as they are:
        every chunk's initial states are inputs of its step).  ``validation``
        is a held-out stream, scored the same way after every epoch (its
        perplexity is exp of its mean per-token cross-entropy).  The
        other options are :meth:`fit`'s; with ``devices`` the columns are
        split over the devices, their carried states with them.
        """
        bptt = positive_int(bptt, "bptt")
        batch_size = positive_int(batch_size, "batch_size")
        epochs = positive_int(epochs, "epochs")
        settings = _settings(learning_rate, mu, optimizer, options, reg, clip, schedule, schedule_options, patience)
        devices = device_count(devices)
        columns = self.stream_columns(tokens, batch_size, bptt, "tokens")
        validate = None
        if validation is not None:
            held_out = self.stream_columns(validation, batch_size, bptt, "validation")
            validate = lambda: self.columns_loss(held_out, bptt)  # noqa: E731
        trainer = engine.Trainer(self, engine.StreamBatches(self, columns, bptt, devices), settings, epochs,
                                 validation=validate, verbose=verbose, progress=progress, restore_best=restore_best)
        history = trainer.run()
        records = [{"loss": loss} for loss in history]
        for record, loss in zip(records, history.validation):
            record["validation_perplexity"] = float(np.exp(loss))
        return records

    def stream_loss(self, tokens, bptt=35, batch_size=20):
        """Mean cross-entropy per token of a stream, scored in columns and chunks as :meth:`fit_stream` trains."""
        bptt, batch_size = positive_int(bptt, "bptt"), positive_int(batch_size, "batch_size")
        return self.columns_loss(self.stream_columns(tokens, batch_size, bptt, "tokens"), bptt)

    def stream_columns(self, tokens, batch_size, bptt, name="tokens"):
        """The checked token stream as :func:`aerann.data.batching.stream_columns` cuts it (errors name the stream)."""
        tokens = as_index_sequence(tokens, self.vocab_size, name)
        try:
            return batching.stream_columns(tokens, batch_size, bptt)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None

    def columns_loss(self, columns, bptt):
        """Mean cross-entropy per token of stream columns, chunk after chunk with the states carried."""
        fn = self._function("stream loss")
        mask = np.ones((bptt, columns.shape[1]), dtype=aesara.config.floatX)
        states, total, count = flat_states(self.initial_states(columns.shape[1])), 0.0, 0
        for Xc, Yc in batching.stream_chunks(columns, bptt):
            loss, *states = fn(Xc, Yc, mask[: len(Xc)], *states)
            total, count = total + float(loss), count + Xc.size
        return total / count

    def predict(self, X):
        """The likeliest next word after every prefix: a list of index arrays."""
        return [p.argmax(axis=1) for p in self.predict_proba(X)]

    def score(self, X, Y):
        """Cross-entropy per token (nats)."""
        return self.loss(X, Y)

    def perplexity(self, X, Y):
        """exp(per-token cross-entropy): the tutorial-style figure of a language model."""
        return float(np.exp(self.loss(X, Y)))

    def config(self):
        tied = {"tie_embeddings": True} if self.tie_embeddings else {}
        return {"vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim, **tied, **super().config()}


class LoadedEmbeddings(NamedTuple):
    """What :meth:`LanguageModel.load_embeddings` did: how many of the vocabulary's words it found."""

    found: int
    vocabulary: int
    file_words: int
    path: str

    def __str__(self):
        return (f"{self.found} of the {self.vocabulary} vocabulary words found in {self.path} "
                f"({self.file_words} vectors)")


class SequenceTagger(RecurrentModel):
    """A label at every step from real-valued inputs (the book's parity problem).

    ``fit(X, Y)``: X a list of (T_i, n_in) arrays, Y a list of (T_i,) label arrays.
    ``score`` is the fraction of steps labelled correctly.
    """

    def __init__(self, n_in, n_classes, layers=(("elman", 4, {"activation": "sigmoid"}),), **kwargs):
        super().__init__(n_in, n_classes, layers, **kwargs)

    def _symbolic_inputs(self):
        return at.tensor3("X", dtype=aesara.config.floatX), at.imatrix("Y")

    def check_data(self, X, Y):
        arrays = [_features(x, self.n_in, f"X[{i}]") for i, x in enumerate(_nonempty(X, "X"))]
        if Y is None:
            return arrays, None
        labels = [as_index_sequence(y, self.n_classes, f"Y[{i}]") for i, y in enumerate(_nonempty(Y, "Y"))]
        if len(labels) != len(arrays):
            raise ValueError(f"got {len(arrays)} input sequences but {len(labels)} label sequences")
        for i, (x, y) in enumerate(zip(arrays, labels)):
            if len(x) != len(y):
                raise ValueError(f"X[{i}] has {len(x)} steps but Y[{i}] has {len(y)} labels")
        return arrays, labels

    def _batch(self, X, Y, indices):
        Xb, mask = batching.pad([X[i] for i in indices], bucket(X, indices), aesara.config.floatX)
        Yb = None if Y is None else batching.pad([Y[i] for i in indices], len(mask), np.int32)[0]
        return Xb, Yb, mask.astype(aesara.config.floatX)

    def config(self):
        return {"n_in": self.n_in, "n_classes": self.n_classes, **super().config()}

    def predict(self, X):
        """The likeliest label at every step: a list of arrays."""
        return [p.argmax(axis=1) for p in self.predict_proba(X)]

    def score(self, X, Y):
        """Fraction of steps labelled correctly."""
        X, Y = self.check_data(X, Y)
        predicted = self.predict(X)
        return float(np.mean(np.concatenate([p == y for p, y in zip(predicted, Y)])))


class SequenceClassifier(RecurrentModel):
    """One label per sequence, read from the top layer's state at the sequence's last real step.

    Inputs are token indices when ``vocab_size`` is given (an embedding of
    ``embedding_dim`` feeds the stack, the book's poetry classifier), else
    real-valued vectors of size ``n_in``.  ``score`` is the accuracy.
    """

    def __init__(self, n_classes, layers=(("gru", 32),), vocab_size=None, embedding_dim=None, n_in=None, **kwargs):
        if (vocab_size is None) == (n_in is None):
            raise ValueError("give either vocab_size (token inputs) or n_in (real-valued inputs)")
        self.vocab_size = None if vocab_size is None else positive_int(vocab_size, "vocab_size")
        self.embedding_dim = None
        if self.vocab_size is not None:
            self.embedding_dim = positive_int(embedding_dim if embedding_dim is not None else 32, "embedding_dim")
            n_in = self.embedding_dim
        super().__init__(n_in, n_classes, layers, **kwargs)

    def _add_input_params(self, rng):
        if self.vocab_size is not None:
            limit = np.sqrt(6.0 / (self.vocab_size + self.embedding_dim))
            self._param("embedding", rng.uniform(-limit, limit, (self.vocab_size, self.embedding_dim)))

    def _symbolic_inputs(self):
        X = at.imatrix("X") if self.vocab_size is not None else at.tensor3("X", dtype=aesara.config.floatX)
        return X, at.ivector("Y")

    def _layer_input(self, X):
        return self.params["embedding"][X] if self.vocab_size is not None else X

    def log_probabilities_of(self, top, X):
        """Log-probabilities of the classes per sequence: (B, n_classes).

        Padded steps keep the state, so step T - 1 holds each sequence's last real state.
        """
        return log_softmax(self.output_layer(top[-1]), axis=-1)

    def _item_probabilities(self, probabilities, b, length):
        return probabilities[b]

    def _gathered(self, probabilities):
        return np.array(probabilities).reshape(len(probabilities), self.n_classes)

    def loss_of(self, top, X, Y, mask):
        """Summed cross-entropy of the sequences' labels Y (B,)."""
        # A sequence counts when it has a real step: all-padding columns (see ``batch``) do not.
        return self.output_loss(top[-1], Y, mask.max(axis=0))

    def count_targets(self, mask) -> int:
        return int(mask.max(axis=0).sum())

    def check_data(self, X, Y):
        X = _nonempty(X, "X")
        if self.vocab_size is not None:
            arrays = [as_index_sequence(x, self.vocab_size, f"X[{i}]") for i, x in enumerate(X)]
        else:
            arrays = [_features(x, self.n_in, f"X[{i}]") for i, x in enumerate(X)]
        if Y is None:
            return arrays, None
        labels = as_index_sequence(Y, self.n_classes, "Y")
        if len(labels) != len(arrays):
            raise ValueError(f"got {len(arrays)} sequences but {len(labels)} labels")
        return arrays, labels

    def _batch(self, X, Y, indices):
        dtype = np.int32 if self.vocab_size is not None else aesara.config.floatX
        Xb, mask = batching.pad([X[i] for i in indices], bucket(X, indices), dtype)
        Yb = None if Y is None else Y[indices].astype(np.int32)
        return Xb, Yb, mask.astype(aesara.config.floatX)

    def predict_proba(self, X):
        """Class probabilities per sequence: (N, n_classes)."""
        X, _ = self.check_data(X, None)
        fn = self._function("predict")
        result = np.zeros((len(X), self.n_classes))
        for indices in batching.minibatches(len(X), [len(x) for x in X], EVALUATION_BATCH, None, DEFAULT_BUCKETS):
            Xb, _, mask = self.batch(X, None, indices, self.batch_columns(EVALUATION_BATCH))
            result[indices] = np.asarray(fn(Xb, mask))[: len(indices)]
        return result

    def predict(self, X):
        """The likeliest label of every sequence."""
        return self.predict_proba(X).argmax(axis=1)

    def score(self, X, Y):
        """Accuracy."""
        X, Y = self.check_data(X, Y)
        return float(np.mean(self.predict(X) == Y))

    def config(self):
        extra = {"n_classes": self.n_classes, "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim}
        if self.vocab_size is None:
            extra["n_in"] = self.n_in
        return {**extra, **super().config()}


def _settings(learning_rate, mu, optimizer, options, reg, clip, schedule, schedule_options, patience):
    """The checked settings of fit's arguments: ``mu`` > 0 picks momentum (the book's) and is its option."""
    mu = finite_float(mu, "mu (momentum)")
    optimizer = optimizer or ("momentum" if mu else "sgd")
    options = dict(options or {})
    if mu:
        options["mu"] = mu
    return training_settings.check(learning_rate, optimizer, options, reg, clip, schedule, schedule_options,
                                   patience)


def _pair(validation):
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise TypeError("validation must be a pair (X, Y)")
    return validation


def _check_units_available(path, layers, described):
    """A clear error, naming the plugin that provided it, for a saved unit that is not registered now."""
    described = described if isinstance(described, list) else []
    for spec in layers if isinstance(layers, list) else []:
        name = spec[0] if isinstance(spec, list) and spec else spec.get("unit") if isinstance(spec, dict) else None
        if not isinstance(name, str):
            continue  # the model's own checks will name the malformed layer
        try:
            units.get(name)
        except units.UnitConflictError as error:
            raise ValueError(f"{path}: {error}") from None
        except ValueError:
            entry = next((d for d in described if isinstance(d, dict) and d.get("name") == name), {})
            raise ValueError(
                f"{path} uses the unit {name!r} (from {entry.get('source', 'an unknown source')}), "
                "which is not registered: install the plugin that provides it"
            ) from None


def bucket(X, indices) -> int:
    """The padded length of a minibatch: the smallest bucket holding its longest sequence."""
    return batching.bucket_length(max(len(X[i]) for i in indices), DEFAULT_BUCKETS)


def _nonempty(items, name):
    if items is None or isinstance(items, (str, bytes)):
        raise TypeError(f"{name} must be a list of sequences")
    items = list(items)
    if not items:
        raise ValueError(f"{name} is empty")
    return items


def _features(x, n_in, name):
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers") from None
    if array.ndim != 2 or array.shape[1] != n_in:
        raise ValueError(f"{name} must have shape (steps, {n_in}), got {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty: a sequence needs at least one step")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array.astype(aesara.config.floatX)
