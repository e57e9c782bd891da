"""What simulated employees write: posts, replies, job titles, support questions, survey comments.

Written for the demo, in French and English; each person writes in their roster language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

POSTS = {
    "fr": (
        "Bonjour à tous ! Ravi de vous retrouver ici.",
        "Voici le compte rendu de la réunion de lundi, vos remarques sont les bienvenues.",
        "Quelqu'un a-t-il un modèle de présentation à jour pour les clients ?",
        "Bravo à l'équipe pour la livraison de cette semaine !",
        "Je partage l'article dont on parlait à la pause, très intéressant.",
        "Petit rappel : la formation de jeudi commence à 14 h en salle Garonne.",
        "Qui serait partant pour un déjeuner d'équipe vendredi ?",
        "Nous cherchons un volontaire pour relire la nouvelle procédure qualité.",
        "Les chiffres du mois sont en ligne, bonne nouvelle pour tout le monde.",
        "Je teste ce nouvel espace : c'est bien plus pratique que les chaînes d'e-mails.",
        "Une idée pour simplifier les notes de frais ? Je suis preneur.",
        "Merci pour vos retours sur le prototype, on intègre tout la semaine prochaine.",
    ),
    "en": (
        "Hello everyone! Glad to be here.",
        "Here are the notes from Monday's meeting; comments welcome.",
        "Does anyone have an up-to-date customer presentation template?",
        "Well done to the team for this week's delivery!",
        "Sharing the article we talked about at lunch, well worth a read.",
        "Reminder: Thursday's training starts at 2 pm in the Thames room.",
        "Who's up for a team lunch on Friday?",
        "We need a volunteer to review the new quality procedure.",
        "This month's figures are online, good news for everyone.",
        "Trying out this new space: much handier than long e-mail threads.",
        "Any idea how to make expense reports simpler? I'm all ears.",
        "Thanks for your feedback on the prototype; we'll fold it all in next week.",
    ),
}

REPLIES = {
    "fr": (
        "Merci pour le partage !",
        "Bonne idée, je suis partant.",
        "Je regarde ça et je reviens vers toi.",
        "Tout à fait d'accord.",
        "Tu peux m'envoyer le lien ?",
        "Super nouvelle, bravo !",
        "On en parle à la prochaine réunion ?",
    ),
    "en": (
        "Thanks for sharing!",
        "Good idea, count me in.",
        "I'll have a look and get back to you.",
        "Totally agree.",
        "Could you send me the link?",
        "Great news, well done!",
        "Shall we discuss it at the next meeting?",
    ),
}

EMOJIS = ("+1", "tada", "heart", "clap", "white_check_mark", "smile")

# Job titles by department key (see ``profiles.department_key``); others get a generic one.
POSITIONS = {
    "marketing": ("Chargé·e de marketing", "Marketing officer"),
    "communication": ("Chargé·e de communication", "Communications officer"),
    "recherche & developpement": ("Ingénieur·e R&D", "R&D engineer"),
    "ventes": ("Ingénieur·e commercial·e", "Account manager"),
    "sales": ("Ingénieur·e commercial·e", "Account manager"),
    "production": ("Technicien·ne de production", "Production technician"),
    "logistique": ("Responsable logistique", "Logistics coordinator"),
    "finance": ("Contrôleur·se de gestion", "Financial controller"),
    "ressources humaines": ("Chargé·e RH", "HR officer"),
    "informatique": ("Ingénieur·e système", "Systems engineer"),
    "direction generale": ("Chargé·e de mission", "Project officer"),
}
GENERIC_POSITION = ("Chargé·e de mission", "Project officer")
MANAGER_POSITION = ("Responsable d'équipe", "Team manager")


def position_for(department_key: str, role: str, language: str) -> str:
    french, english = (
        MANAGER_POSITION if role == "manager" else POSITIONS.get(department_key, GENERIC_POSITION)
    )
    return english if language == "en" else french


@dataclass(frozen=True)
class SupportQuestion:
    category: str  # difficulty, question or idea: the values Envol's support dialog offers
    text: str


SUPPORT_QUESTIONS = {
    "fr": (
        SupportQuestion("question", "Comment changer ma photo de profil ?"),
        SupportQuestion("question", "Où trouver les documents de l'équipe commerciale ?"),
        SupportQuestion("question", "Comment recevoir les notifications sur mon téléphone ?"),
        SupportQuestion("question", "Comment rejoindre le canal de mon service ?"),
        SupportQuestion("difficulty", "Je ne reçois pas les e-mails de notification."),
        SupportQuestion("difficulty", "L'application mobile me demande une adresse de serveur."),
        SupportQuestion("difficulty", "Je n'arrive pas à joindre un fichier à mon message."),
        SupportQuestion("idea", "Ce serait bien d'avoir un canal pour les petites annonces."),
        SupportQuestion("idea", "Pourrait-on avoir un canal par site pour l'actualité locale ?"),
    ),
    "en": (
        SupportQuestion("question", "How do I change my profile picture?"),
        SupportQuestion("question", "How do I find the sales documents?"),
        SupportQuestion("question", "How do I get notifications on my phone?"),
        SupportQuestion("question", "How do I join my department's channel?"),
        SupportQuestion("difficulty", "I don't receive the notification e-mails."),
        SupportQuestion("difficulty", "The mobile app asks me for a server address."),
        SupportQuestion("difficulty", "I can't attach a file to my message."),
        SupportQuestion("idea", "A channel for classified ads would be nice."),
        SupportQuestion("idea", "Could we have one channel per site for local news?"),
    ),
}

SURVEY_COMMENTS = {
    "fr": (
        "Pratique pour trouver les bonnes personnes.",
        "Encore un peu difficile de s'y retrouver dans les canaux.",
        "Les notifications sont trop nombreuses.",
        "Très bon outil, on gagne du temps.",
    ),
    "en": (
        "Handy for finding the right people.",
        "Still a bit hard to find one's way among channels.",
        "Too many notifications.",
        "Great tool, it saves time.",
    ),
}


def texts(bank: Mapping[str, tuple[str, ...]], language: str) -> tuple[str, ...]:
    return bank.get(language, bank["fr"])
