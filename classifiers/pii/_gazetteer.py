"""Given names and place names the small NER model does not know well enough.

``en_core_web_sm`` misses many names outside the English news it was trained on ("Met with
Oluwaseun Adeyemi", "Pietro Altera called") and labels some cities as people ("Glasgow",
"Bangalore"). A given name followed by a capitalised surname is reported as a PERSON, and a
well-known place name as a LOCATION. Words that are also ordinary English words or common
place/person homonyms (Will, Mark, Grace, Austin, Sydney, Paris) are only used when the NER
agrees, or, for given names, when a surname follows. Title case only.
"""

from __future__ import annotations

from classifiers.pii._vocabulary import terms

# Given names across the languages our users write in. Deliberately broad, never exhaustive:
# the NER and the cue recogniser catch the rest.
_GIVEN = """
aaliyah aaron abby abdul abdullah abel abhishek abigail abimbola ada adam adaeze adebayo
adele adeola adil aditi aditya adrian adriana adrien agata agnes agnieszka ahmad ahmed aidan
aiko aileen aisha aiyana ajay akash akira akosua alan alba albert alberto aleksander
aleksandra alejandra alejandro alessandra alessandro alessia alex alexa alexander alexandra
alexandre alexei alexis alfie alfonso alfred ali alice alicia alina alison alistair amanda
amara amelia amelie amina amir amit amy ana anastasia anders andrea andreas andrei andrew
andrzej andy aneta angela angelica angelo anika anil anita anja ann anna annabel anne
annika anthony antoine antonia antonio anya aoife archie ariana arjun arnav arne aroha arthur
arturo arvid asha ashley ashok astrid aurelia aurora ava axel ayesha ayumi babajide barbara
bartosz beata beatriz beatrice belen ben benedict benjamin bernard bernd bethany bianca
birgit bjorn björn blessing bogdan boris brandon brenda brendan brian bridget bruno bryony
caitlin callum camila camille candice carla carlos carmen carolina caroline carsten casper
catalina catherine cecilia celine cesar chaim chandra chanel charlie charlotte chen chetan
chiamaka chiara chidi chinedu chioma chloe chris christian christina christine christoph
christopher ciaran claire clara claudia clement colin conor constance cormac cristina
cristian dagmar daisuke dalia damian damián dan dana daniel daniela daniele danielle dario
darius darya david davide dawid deborah declan deepak deepika denise dennis derek desmond
diana diego dieter dimitri dimitris dina dinesh dmitri dmitry dominik dominika donal donna
doris dorota dylan ebony edgar edith edoardo eduardo edward efua eilidh ekaterina elena
eleni eli elias elif elin elisa elisabeth eliza elizabeth ella ellie elodie elsa emeka emil
emilia emilie emily emma emre enrique enzo eoin erik erika erin ernesto esi esme esperanza
esther ethan eugenia eva evelyn ewa ewan fabian fabio fahad faisal farah farid farida
fatima fatuma felipe felix femi fernanda fernando filip finn fiona florian folake francesca
francesco francisco francois françois frank franziska freya frida friedrich gabriel
gabriela gabriele gabrielle ganesh gareth gary gaurav gemma georg george georgia gerald
gerhard giacomo gianluca gianni gillian giorgia giorgio giovanna giovanni giulia giuseppe
gonzalo gordon grzegorz guadalupe gudrun guillaume gunnar gustavo habib hailey hakan hamza
hana hannah hannes hans harald hardik hari harish harriet harrison harry harvey hassan
heather heidi heike helen helena helga henrik henry hiba hilary hiroshi hiroko hugo hussein
ian ibrahim ida ifeoma ignacio igor ikechukwu ilse ilya imogen imran ines inés ingrid
ioana irina isaac isabel isabella isabelle isha ishaan isla ismail ivan ivana jacek jack
jacob jacqueline jakob jakub james jamie jan jana jane janet janina jannik jasmine jason
javier jay jayden jean jennifer jens jeremy jessica jiho jin jing joanna joao joão jocelyn
joel johan johann johanna john jonas jonathan jordi jorge jose josé josef joseph josephine
joshua juan julia julian juliana julie julien julio jun jürgen jurgen justyna kai kaito
kamal kamala kamil karan karen karim karin karina karl karolina kasia katarzyna kate
katharina katherine kathleen katie kavya kayode keiko keith kemal ken kenji kenneth kerstin
kevin khadija khalid kiara kieran kim kirsten klaus kofi kojo krishna kristina krzysztof
kumar kwabena kwame kyle lakshmi lars laura lauren laurent lea leah leila lena leo leon
leona leonardo leonie liam lidia lily lin linda lindiwe lionel lisa liv liz lorenzo louis
louise luca lucas lucia lucía lucy luis luisa lukas lukasz łukasz luke luna lwazi lydia
madeleine magdalena magnus mahmoud maja malik malgorzata małgorzata manuel manuela marc
marcel marcela marco marcus margaret margarita mari maria marie marina mario marisol marius
marta martin martina mary maryam mateo mateusz mathilde matilda matteo matthew matthias
maurice maximilian maya mehmet mei melanie melissa mia michael michaela michal michał
michelle miguel mikael mikhail mila milan milena min minh mira miriam mohamed mohammed
monica monika morgan moritz muhammad musa nadia nadine naledi nanami naomi narges natalia
natalie nathalie nathan neha neil nia niamh nicholas nick nicola nicolas nicole niels nikhil
nikita nikolai nikolaos nils nina noah noor nora nuno obinna odette oleg olga oliver olivia
oluwaseun omar oscar oskar owen pablo paolo pascal patricia patrick paul paula paulina pavel
pawel paweł pedro per peter petra philipp philippe pia pierre piotr pooja prakash priya
priyanka rachel rafael rafał rahul raj rajesh ramón ramon rania rashid ravi rebecca reza
ricardo richard rita robert roberto rohan roisin róisín roman rosa rosalind ruben rui rukmini
ryan ryo sabine sadia saeed sakura salma sam samantha samir samuel sandeep sandra sanjay
santiago sara sarah sasha saskia sean seo sebastian sebastián sergei sergey sergio seun
shanice shira shreya shu siddharth sigrid silvia simon simone sinead siobhan
sipho siti sofia sofía sophie soren søren stefan stefanie stella stephanie stephen steven
sunil susan susanne svetlana sven tamara tanvir tariq tatiana teresa thabo thandiwe theo
thomas tiago tim timothy tobias tom tomas tomasz tommaso tomoko toni torsten tunde uchenna
ursula usman valentina valeria vanessa varun vera veronica véronique victor viktor
vikram vincent vincenzo vinod vivek vladimir wanjiru wei wiktoria william wojciech xavier
xin yasmin yaw yeon yiannis yolanda youssef yuki yuko yusuf yuto yvonne zainab zanele zara
zeynep zhang zhao zofia zoe zoë zoran ji-woo ji-hoon ji-ho min-jun seo-yeon seo-jun ha-eun
ha-yoon do-yun ye-jin hye-jin su-bin eun-ji min-seo jae-won hyun-woo sung-min
margaux margot christophe mathieu sébastien sebastien aurélie aurelie amélie amelie céline
cecile cécile hélène helene élodie manon chloé léa juliette thibault théo maxime quentin
romain baptiste bastien corentin florent jérôme jerome stéphane stephane thierry yves olivier
benoît benoit loïc loic gaëlle solène brigitte sylvie françoise francoise jacques michel
patrice didier gilles hervé herve mariano yago iago álvaro alvaro iñigo inigo rocío rocio
pilar consuelo dolores montserrat nuria núria ainhoa iker unai aitor jon asier ximena renata
florencia agustín agustin joaquín joaquin mauricio rodrigo emiliano matías matias tomás thiago
gael leandro marcelo fabiana priscila thaís thais joana leonor afonso duarte vasco gonçalo
goncalo mafalda raquel paulo marcos vitor vítor caio otávio heitor benício benicio piero
pierluigi pierangelo carlo enrico fabrizio federico federica massimo maurizio mirko nicolò
niccolò raffaele riccardo salvatore stefano valerio vittorio benedetta camilla emanuela
ilaria letizia ludovica noemi ornella rossella serena simona radka hedvika bořivoj borivoj
drahoslav jiří jiri petr ondřej ondrej vojtěch vojtech matěj zdeněk zdenek václav vaclav
miroslav jaroslav stanislav radek libor vlasta lenka věra kateřina katerina tereza lucie
veronika markéta marketa barbora zuzana kamila halina jadwiga krystyna wiesław zbigniew
mirosław tadeusz kazimierz grażyna bożena iwona marzena urszula wanda stanisław bartłomiej
przemysław radosław sławomir witold helinä ritva maarit marjatta pirjo tuula sirpa päivi
aino eino juha jukka jari kari matti mikko pekka timo ville olavi lauri antti tapio sanna
satu tiina kirsi liisa birgitta britt greta gunhild ingeborg kristin malin signe solveig
tove ulla ylva bjørn espen fredrik gustav håkan haakon henning kjell knut leif olof stig
sune torbjørn trond ulf viggo willem wouter pieter joost joris jeroen sander bram daan thijs
koen maarten bart stijn lotte sanne fleur femke anouk marloes mieke roos madelief famke
lieke evi fenna jasper teun gijs hendrik faas horst uwe wolfgang werner günter gunter
manfred helmut rainer reinhard ralf rolf ulrich volker dirk holger lutz gerd heinz hermann
ingo jörg joerg karsten ole otto sepp ute uta gisela hannelore renate silke sonja tanja anke
antje bärbel elke frauke maren meike rosemarie sibylle wiebke edeltraud waltraud liselotte
hedwig tanya lori tammy kristen courtney brittany tiffany shannon kelly megan lindsay stacy
tracy wendy gail joan judith cheryl diane janice kathy pamela sharon shirley theresa debra
marilyn gloria beverly martha larry jeffrey scott eric justin gregory raymond jerry walter
douglas harold carl terry bryan todd troy dustin duane shane kurt marvin vernon clarence
"""

# Given names that are also ordinary words, months or places: used only before a surname.
_AMBIGUOUS_GIVEN = """
will mark bill grace hope rose faith joy art sue pat chase hunter sky river jack max ray
dawn amber ruby jade crystal holly ivy iris lily daisy violet autumn april may june august
paris london austin devon jordan georgia florence victoria sydney chelsea madison brooklyn
dallas carter mason tyler summer sunny rich frank earl royal king prince duke gene guy
page penny sandy rusty buddy harmony melody destiny trinity heaven miles nick jan per min
jun hugo julia ada pascal santiago claude alexa zara roger carol
"""

# Countries, regions and cities that are unambiguous when capitalised.
_PLACES = """
Afghanistan|Albania|Algeria|Andorra|Angola|Argentina|Armenia|Australia|Austria|Azerbaijan|
Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|Bosnia|
Botswana|Brazil|Brunei|Bulgaria|Burkina Faso|Burundi|Cambodia|Cameroon|Canada|Chile|China|
Colombia|Congo|Costa Rica|Croatia|Cuba|Cyprus|Czechia|Czech Republic|Denmark|Djibouti|
Dominican Republic|Ecuador|Egypt|El Salvador|England|Eritrea|Estonia|Eswatini|Ethiopia|Fiji|
Finland|France|Gabon|Gambia|Germany|Ghana|Greece|Greenland|Guatemala|Haiti|Honduras|Hungary|
Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|Japan|Kazakhstan|Kenya|
Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|Liechtenstein|Lithuania|
Luxembourg|Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|Mauritania|Mauritius|Mexico|
Moldova|Monaco|Mongolia|Montenegro|Morocco|Mozambique|Myanmar|Namibia|Nepal|Netherlands|
New Zealand|Nicaragua|Niger|Nigeria|North Korea|North Macedonia|Northern Ireland|Norway|Oman|
Pakistan|Palestine|Panama|Paraguay|Peru|Philippines|Poland|Portugal|Qatar|Romania|Russia|
Rwanda|Saudi Arabia|Scotland|Senegal|Serbia|Sierra Leone|Singapore|Slovakia|Slovenia|Somalia|
South Africa|South Korea|South Sudan|Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|
Taiwan|Tajikistan|Tanzania|Thailand|Togo|Tunisia|Turkey|Türkiye|Turkmenistan|Uganda|Ukraine|
United Arab Emirates|United Kingdom|United States|Uruguay|Uzbekistan|Venezuela|Vietnam|Wales|
Yemen|Zambia|Zimbabwe|
Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Hawaii|
Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|
Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|
North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|
South Dakota|Tennessee|Texas|Utah|Vermont|West Virginia|Wisconsin|Wyoming|Ontario|Quebec|
Bavaria|Catalonia|Andalusia|Tuscany|Lombardy|Provence|Brittany|Normandy|Yorkshire|Cornwall|
Kent|Surrey|Queensland|Tasmania|Bavaria|Saxony|Flanders|Wallonia|Kerala|Karnataka|
Maharashtra|Punjab|Bengal|Gujarat|Rajasthan|Tamil Nadu|
Aarhus|Abu Dhabi|Abuja|Accra|Addis Ababa|Ahmedabad|Algiers|Almaty|Amman|Amsterdam|Ankara|
Antwerp|Athens|Atlanta|Auckland|Baghdad|Baku|Baltimore|Bangalore|Bengaluru|Bangkok|Barcelona|
Basel|Beijing|Beirut|Belfast|Belgrade|Bergen|Berlin|Bern|Bilbao|Birmingham|Bogota|Bogotá|
Bologna|Bonn|Bordeaux|Boston|Bratislava|Bremen|Brighton|Brisbane|Bristol|Brno|Brussels|
Bucharest|Budapest|Buenos Aires|Cairo|Calgary|Cambridge|Canberra|Cape Town|Caracas|Cardiff|
Casablanca|Chennai|Chicago|Cologne|Copenhagen|Cork|Dakar|Damascus|Dar es Salaam|Delhi|
Denver|Detroit|Dhaka|Doha|Dortmund|Dresden|Dubai|Dublin|Dusseldorf|Düsseldorf|Edinburgh|
Eindhoven|Frankfurt|Gdansk|Gdańsk|Geneva|Genoa|Ghent|Glasgow|Gothenburg|Granada|Graz|
Guadalajara|Hamburg|Hanoi|Hanover|Havana|Helsinki|Ho Chi Minh City|Hong Kong|Honolulu|
Hyderabad|Istanbul|Jakarta|Jeddah|Jerusalem|Johannesburg|Kampala|Karachi|Kathmandu|Kigali|
Kolkata|Krakow|Kraków|Kuala Lumpur|Kyiv|Kyoto|Lagos|Lahore|Las Vegas|Leeds|Leipzig|Lille|
Lima|Lisbon|Liverpool|Ljubljana|Los Angeles|Luxembourg City|Lyon|Madrid|Malmo|Malmö|Manchester|
Manila|Marseille|Medellin|Medellín|Melbourne|Mexico City|Miami|Milan|Minneapolis|Minsk|
Mombasa|Montevideo|Montreal|Montréal|Moscow|Mumbai|Munich|München|Nairobi|Naples|Nashville|
New Delhi|New Orleans|New York|New York City|Newcastle|Nuremberg|Oakland|Osaka|Oslo|Ottawa|
Oxford|Palermo|Perth|Philadelphia|Pittsburgh|Porto|Portland|Prague|Pune|Quito|Rabat|
Reykjavik|Riga|Rio de Janeiro|Riyadh|Rome|Rotterdam|Salzburg|San Diego|San Francisco|
San Jose|Santiago|Sao Paulo|São Paulo|Sarajevo|Seattle|Seoul|Seville|Shanghai|Shenzhen|
Sofia|Stockholm|Strasbourg|Stuttgart|Taipei|Tallinn|Tampere|Tbilisi|Tehran|Tel Aviv|
The Hague|Thessaloniki|Tokyo|Toronto|Toulouse|Tunis|Turin|Utrecht|Valencia|Vancouver|
Venice|Vienna|Vilnius|Warsaw|Washington|Wellington|Winnipeg|Wroclaw|Wrocław|Yerevan|
Yokohama|Zagreb|Zurich|Zürich
"""

PLACES: frozenset[str] = frozenset(
    p.strip() for p in _PLACES.replace("\n", "").split("|") if p.strip()
)
AMBIGUOUS_GIVEN_NAMES: frozenset[str] = terms(_AMBIGUOUS_GIVEN)
# Given names that may stand alone ("ask Priya"); the ambiguous ones need a surname.
GIVEN_NAMES: frozenset[str] = terms(_GIVEN) - AMBIGUOUS_GIVEN_NAMES - {p.lower() for p in PLACES}
# Any given name, for "<given> <Surname>".
ALL_GIVEN_NAMES: frozenset[str] = terms(_GIVEN) | AMBIGUOUS_GIVEN_NAMES

# Capitalised words that follow a given name without being a surname ("Maria Monday").
NOT_SURNAMES: frozenset[str] = terms(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december mon tue wed thu fri sat sun
    jan feb mar apr jun jul aug sep sept oct nov dec team corp inc ltd llc gmbh plc co
    support office street avenue road said says thanks hi hello dear regards cheers from
    """
)
