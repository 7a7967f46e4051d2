"""The staff web app: server-rendered pages for nurses, social workers and coordinators, on the API's
services, access path and audit (`web.routes`), in Finnish, Swedish and English."""
