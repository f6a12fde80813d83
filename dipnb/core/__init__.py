"""The model of the paper, and nothing about experiments: activations (A-3, A-7), the two-layer
network (9), losses and their KL functions (Definition II.2), operators A of model (1),
problems, gradient descent (2) and the gradient flow it discretises."""
