"""Theorem III.1 and Corollary III.2 as functions of a problem and a network: every constant of
the theorem (:mod:`.theorem`), certified bounds on L and the Hessian and the conic singular
value of A-5 (:mod:`.bounds`), the width bound and the closed form of condition (4)
(:mod:`.corollary`), the numerical checks of the KL inequality (:mod:`.kl`) and the linear
(Landweber) model of the dynamics (:mod:`.linear`)."""
