"""The web pages (issue 13): the applicant's personal cabinet and the provider's workstation as
server-rendered HTML — a backend-for-frontend that talks to the portal and provider_arm only over
their public REST APIs, keeping the user's own bearer token in an HttpOnly cookie."""
