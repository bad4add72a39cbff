"""kyma-connectors: everything the Pulumi program and its workloads share or ship, in layers.

=========================  ==========================================================  ==============================
package                    what it is                                                   ships in
=========================  ==========================================================  ==============================
``core``                   pure library: the contract between the program and the      every artefact
                           services, the event catalog, the registration manifest,
                           problems, the environment reader, the HTTP client
``hooks``                  the webhook library: the solution-side hook APIs (GitHub,   program, cli, reconciler
                           Qualtrics), used by the dynamic provider and connectorctl
``program``                the Pulumi program's stack config (typed, validated)        program (with ``components``)
``policy``                 the Pulumi policy pack                                      policy
``gateway``                the event gateway service                                   the gateway image
``registrar``              the registration Job's service                              the registrar image
``reconciler``             the hook reconciler: a hook's events follow Kyma            the reconciler image
                           Subscriptions (``events: subscribed``)
``cli``                    connectorctl, the operator CLI                              cli
=========================  ==========================================================  ==============================

The layers are import-linter contracts (``.importlinter``, checked by ``make lint``): services and the hook library
never import Pulumi, the product never imports tests or dev tooling, components never import a service.
"""
